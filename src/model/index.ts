/**
 * The model author's entry (`twinflow/model`): what a twin model module needs and nothing of
 * the node around it. Shard workers import every model module when they start, so a model
 * that imports the whole `twinflow` entry makes each worker load the HTTP server, the MQTT
 * broker and client and the NATS client it never uses (~0.5 s of CPU per worker start on
 * a 2-core machine); this entry loads the lane and model code only. `twinflow` re-exports
 * all of it, so both imports give the same objects.
 */
export { TwinError, ErrorCodes, type ErrorCode } from '../errors.js';
export {
  TwinPath,
  parsePath,
  MAX_PATH_BYTES,
  RoutePattern,
  PathFilter,
  shardKeyUpTo,
  defaultShardKey,
  shardIndex,
  subtreeShardKey,
  type ShardKeyFn,
  type RouteParams,
} from '../topology/index.js';
export { jsonEquals } from '../lanes/equality.js';
export type { LaneEvent, LaneObserver } from '../lanes/events.js';
export type { JoinLane } from '../lanes/join-lane.js';
export type { MapLane } from '../lanes/map-lane.js';
export type { DemandLane, SupplyLane } from '../lanes/signal-lanes.js';
export type { ValueLane } from '../lanes/value-lane.js';
export type { WindowResult, TimeWeightedWindowResult, WindowLane } from '../lanes/window-lane.js';
export { value, map, command, join, demand, supply, window } from './lane-specs.js';
export { DEFAULT_MAX_SLIDING_SAMPLES, MAX_SLIDING_SAMPLES } from './lane-specs.js';
export { reject } from './reject.js';
export { SumCount, SortedSet } from './aggregate.js';
export {
  defineModelSet,
  isModelSet,
  type ModelSet,
  type ModelSetDef,
  type ModelSetRef,
  type ModelParams,
  type ModelParamValue,
  type ParamShape,
  type FleetGenerator,
  type FleetRun,
  type FleetShape,
  type ChangeExplainer,
  type ExplainedChange,
} from './model-set.js';
export {
  defineTwin,
  type TwinModel,
  type TwinModelDef,
  type TwinContext,
  type TwinEvent,
  type DerivedEvent,
  type TwinTimers,
} from './twin-model.js';
