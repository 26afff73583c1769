export type { LaneEvent, LaneObserver, LaneKind } from './events.js';
export { jsonEquals } from './equality.js';
export { Lane, type LaneHost, type LaneInfo } from './lane.js';
export { ValueLane } from './value-lane.js';
export { MapLane } from './map-lane.js';
export { JoinLane } from './join-lane.js';
export { CommandLane, DemandLane, SupplyLane } from './signal-lanes.js';
export { WindowLane, type WindowResult, type WindowShape } from './window-lane.js';
export {
  value, map, command, join, demand, supply, window,
  type LaneSpec, type ValueSpec, type MapSpec, type CommandSpec, type JoinSpec, type DemandSpec, type SupplySpec,
  type WindowSpec, type LaneOf,
} from './spec.js';
export type { StateStore, StateWrite, StoredTwin, JournalEntry, JournalChange, JournalCause } from './store.js';
export { UnstorableWritesError } from './store.js';
export { checkPayload, isStorable, assertStorable, DEFAULT_MAX_PAYLOAD_DEPTH, MAX_STORED_DEPTH } from './plain-data.js';
export { MemoryStateStore } from './memory-store.js';
export { Conflator } from './conflator.js';
export { pull, type PullSource } from './pull.js';
