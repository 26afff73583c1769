/**
 * twinflow's public API. Everything a model author or an embedding application needs is
 * exported here; deeper imports are internal and may change.
 */
export { TwinError, ErrorCodes, type ErrorCode } from './errors.js';
export {
  TwinPath,
  parsePath,
  RoutePattern,
  PathFilter,
  shardKeyUpTo,
  defaultShardKey,
  shardIndex,
  subtreeShardKey,
  type ShardKeyFn,
  type RouteParams,
} from './topology/index.js';
export { jsonEquals } from './lanes/equality.js';
export type { LaneEvent, LaneObserver } from './lanes/events.js';
export type { JoinLane } from './lanes/join-lane.js';
export type { MapLane } from './lanes/map-lane.js';
export type { DemandLane, SupplyLane } from './lanes/signal-lanes.js';
export type { ValueLane } from './lanes/value-lane.js';
export type { WindowResult, TimeWeightedWindowResult, WindowLane } from './lanes/window-lane.js';
export { value, map, command, join, demand, supply, window } from './model/lane-specs.js';
export { reject } from './model/reject.js';
export { MemoryStateStore } from './store/memory-store.js';
export type { StateStore, StateWrite, StoredTwin } from './store/state-store.js';
export { RealClock, SimulatedClock, type Clock } from './actors/clock.js';
export { SumCount, SortedSet } from './model/aggregate.js';
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
} from './model/model-set.js';
export { loadModelSet } from './model/model-set-import.js';
export {
  defineTwin,
  type TwinModel,
  type TwinModelDef,
  type TwinContext,
  type TwinEvent,
  type DerivedEvent,
  type TwinTimers,
} from './model/twin-model.js';
export {
  createRuntime,
  Runtime,
  type RuntimeOptions,
  type IngestReport,
  type TwinSnapshot,
  type RuntimeStats,
} from './runtime/runtime.js';
export { Link } from './runtime/link.js';
export { FilterLink, type PathEvent } from './runtime/filter-link.js';
export type { EventInput } from './runtime/event-input.js';
export { startNode, type NodeOptions, type TwinflowNode } from './node/node.js';
export { startIngestion, type Ingestion, type IngestionOptions } from './node/ingestion.js';
export type { MqttOptions, MqttFront } from './node/ingest/mqtt-front.js';
export type { TlsOptions, TlsMaterial, ClientCertMode } from './node/tls/tls-options.js';
// Access rules (docs/security.md): give startNode an access file's path, or an AccessControl.
export { AccessControl, type Credential } from './access/access-control.js';
export { Principal, type PrincipalSource } from './access/principal.js';
export { GrantSet } from './access/path-grants.js';
export { RIGHTS, type Right } from './access/rights.js';
export { newToken, hashToken, hashPassword, verifyPassword } from './access/secrets.js';
export type { AdminOptions } from './node/http/admin-listener.js';
export {
  MemoryDeadLetters,
  type DeadLetter,
  type DeadLetterStore,
  type DeadLetterOrigin,
} from './node/ingest/dead-letters.js';
export { decodeStructured, decodeBinary, type DecodedCloudEvent } from './node/ingest/cloudevent.js';
export { defaultOutputTopic, type OutputTopicFn } from './node/outputs/mqtt-sink.js';
export type { OutputOptions } from './node/outputs/outputs.js';
export type { Sink, SinkQueueOptions, SinkStats } from './node/outputs/sink-queue.js';
export type { WebhookConfig } from './node/outputs/webhook-sink.js';
export type { CommandOptions, LinkOptions, MatchOptions } from './runtime/runtime.js';
export { DEFAULT_MAX_LINK_TWINS } from './runtime/runtime.js';
export { attachWarp, type WarpOptions, type WarpFront, type WarpFrontStats } from './node/warp/server.js';
export { allowAll, type WarpAuthorizer, type AuthRequest } from './node/warp/auth.js';
export { DEFAULT_WARP_LIMITS, type WarpLimits, type WarpStats } from './node/warp/limits.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from './node/http/limits.js';
export type { DerivedChange, Explainer } from './recording/whatif.js';
