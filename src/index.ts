/**
 * twinflow's public API. Everything a model author or an embedding application needs is
 * exported here; deeper imports are internal and may change.
 */
export { TwinError, ErrorCodes, type ErrorCode } from './errors.js';
export { TwinPath, parsePath, RoutePattern, PathFilter, shardKeyUpTo, defaultShardKey, shardIndex, subtreeShardKey, type ShardKeyFn, type RouteParams } from './topology/index.js';
export {
  value, map, command, join, demand, supply, window, jsonEquals, MemoryStateStore,
  type LaneEvent, type LaneObserver, type WindowResult, type StateStore, type StateWrite, type StoredTwin,
  type ValueLane, type MapLane, type JoinLane, type WindowLane, type DemandLane, type SupplyLane,
} from './lanes/index.js';
export {
  defineTwin, RealClock, SimulatedClock, SumCount, SortedSet,
  type Clock, type TwinModel, type TwinModelDef, type TwinContext, type TwinEvent, type DerivedEvent, type TwinTimers,
} from './actors/index.js';
export { createRuntime, Runtime, type RuntimeOptions, type IngestReport, type TwinSnapshot, type RuntimeStats } from './runtime/runtime.js';
export { Link } from './runtime/link.js';
export { FilterLink, type PathEvent } from './runtime/filter-link.js';
export type { EventInput } from './runtime/event-input.js';
export { startNode, type NodeOptions, type TwinflowNode } from './runtime/node.js';
export { startIngestion, type Ingestion, type IngestionOptions } from './runtime/ingestion.js';
export type { MqttOptions, MqttFront } from './runtime/ingest/mqtt-front.js';
export { MemoryDeadLetters, type DeadLetter, type DeadLetterStore, type DeadLetterOrigin } from './runtime/ingest/dead-letters.js';
export { decodeStructured, decodeBinary, type DecodedCloudEvent } from './runtime/ingest/cloudevent.js';
export { defaultOutputTopic, type OutputTopicFn } from './runtime/outputs/mqtt-sink.js';
export type { OutputOptions } from './runtime/outputs/outputs.js';
export type { Sink, SinkQueueOptions, SinkStats } from './runtime/outputs/sink-queue.js';
export type { WebhookConfig } from './runtime/outputs/webhook-sink.js';
export type { CommandOptions, LinkOptions, MatchOptions } from './runtime/runtime.js';
export { DEFAULT_MAX_LINK_TWINS } from './runtime/runtime.js';
export { attachWarp, type WarpOptions, type WarpFront, type WarpFrontStats } from './runtime/warp/server.js';
export { allowAll, type WarpAuthorizer, type AuthRequest } from './runtime/warp/auth.js';
export { DEFAULT_WARP_LIMITS, type WarpLimits, type WarpStats } from './runtime/warp/limits.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from './runtime/http/limits.js';
