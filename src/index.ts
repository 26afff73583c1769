/**
 * twinflow's public API. Everything a model author or an embedding application needs is
 * exported here; deeper imports are internal and may change.
 */
// The model author's API lives in ./model/index.ts (`twinflow/model`, a lighter import for
// model modules); the whole of it is part of this entry too.
export * from './model/index.js';
export { MemoryStateStore } from './store/memory-store.js';
export type { StateStore, StateWrite, StoredTwin } from './store/state-store.js';
export { RealClock, SimulatedClock, type Clock } from './actors/clock.js';
export { loadModelSet } from './model/model-set-import.js';
export { createRuntime, Runtime, type TwinSnapshot } from './runtime/runtime.js';
export type { RuntimeOptions, IngestReport, RuntimeStats } from './runtime/runtime-options.js';
export { Link } from './runtime/link.js';
export { FilterLink, type PathEvent } from './runtime/filter-link.js';
export type { EventInput } from './actors/event-input.js';
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
export type { HistoryPage } from './runtime/runtime.js';
export type { CommandOptions, LinkOptions, MatchOptions } from './runtime/runtime-options.js';
export { DEFAULT_MAX_LINK_TWINS } from './runtime/runtime-options.js';
export type { HistoryOptions, ReadAtOptions } from './runtime/journal-reads.js';
export { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, MAX_ROLLBACK_ENTRIES } from './runtime/journal-reads.js';
export { attachWarp, type WarpOptions, type WarpFront, type WarpFrontStats } from './node/warp/server.js';
export { allowAll, type WarpAuthorizer, type AuthRequest } from './node/warp/auth.js';
export { DEFAULT_WARP_LIMITS, type WarpLimits, type WarpStats } from './node/warp/limits.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from './node/http/limits.js';
export type { DerivedChange, Explainer } from './recording/whatif.js';
