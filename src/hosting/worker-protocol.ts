import type { WorkerLogLine } from './worker-log.js';
import type { DerivedEvent, TwinEvent } from '../model/twin-model.js';
import type { ModelSetRef } from '../model/model-set.js';
import type { LaneEvent } from '../lanes/events.js';
import type { HistoryPage, HistoryQuery } from '../store/state-store.js';
import type { HostCounters, TwinSnapshot } from './shard-host.js';
import type { WorkerExtensionSource } from './worker-extension.js';
import type { EventColumns } from './event-columns.js';

/**
 * How a worker builds its models: it imports a model set ({@link ModelSetRef}, what
 * `createRuntime({ modelSet })` derives) or calls a factory function exported by a module.
 */
export type ModelSource = ModelSetRef | ModelFactorySource;

/** A module and an exported function returning the models (the form before model sets). */
export interface ModelFactorySource {
  /** File URL (or absolute path) of an ES module. */
  readonly module: string;
  /** Name of an exported function returning the models. */
  readonly export: string;
  /** Structured-cloneable arguments for that function. */
  readonly args?: readonly unknown[];
}

/** What a worker gets at start (its `workerData`). */
export interface WorkerInit {
  readonly index: number;
  readonly count: number;
  readonly models: ModelSource;
  readonly dataDir?: string;
  readonly durability?: 'strict' | 'relaxed';
  readonly journal?: boolean;
  readonly journalRetentionMs?: number;
  readonly dedupeWindow?: number;
  readonly stepBudget?: number;
  readonly passivation?: { idleMs?: number; maxActive?: number };
  /** The runtime's `shardKey` option as `shardKeyUpTo(name)` (functions cannot cross threads). */
  readonly shardKeyUpTo?: string;
  /** Set when the main thread runs a simulated clock: the worker's clock follows `now` of each batch. */
  readonly simulatedStart?: number;
  readonly logLevel: string;
  /** What shapes this worker's shard besides the defaults (cluster mode; see worker-extension.ts). */
  readonly extension?: WorkerExtensionSource;
  /** The last process on the data directory died holding it: see ShardOptions.recoverJoins. */
  readonly recoverJoins?: boolean;
}

export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
  /** The message came from a JS exception: logged by the front, never shown to a client. */
  readonly internal?: true;
}

/** Main → worker. Messages travel in batches (one postMessage per event-loop turn). */
export type ToWorker =
  | { readonly t: 'event'; readonly id: number; readonly event: TwinEvent }
  | {
      readonly t: 'command';
      readonly id: number;
      readonly path: string;
      readonly lane: string;
      readonly value: unknown;
      /** The client's idempotency key, if any. */
      readonly key?: string;
    }
  | { readonly t: 'stop'; readonly id: number; readonly path: string }
  | {
      readonly t: 'read';
      readonly id: number;
      readonly path: string;
      readonly lanes?: readonly string[];
      readonly release?: boolean;
    }
  | { readonly t: 'observe'; readonly id: number; readonly oid: number; readonly path: string; readonly lane: string }
  | { readonly t: 'unobserve'; readonly oid: number }
  | {
      readonly t: 'observeFilter';
      readonly id: number;
      readonly oid: number;
      readonly filter: string;
      /** The filter's scopes ({@link PathFilter.scopes}): what the linking principal may read. */
      readonly within?: readonly string[];
      readonly lane: string;
      readonly limit: number;
    }
  /** How many of its twins a filter matches, counted no further than `cap` + 1 (a wildcard link's first phase). */
  | {
      readonly t: 'count';
      readonly id: number;
      readonly filter: string;
      readonly within?: readonly string[];
      readonly cap: number;
    }
  | {
      readonly t: 'list';
      readonly id: number;
      readonly filter: string;
      readonly within?: readonly string[];
      readonly limit: number;
    }
  | { readonly t: 'history'; readonly id: number; readonly path: string; readonly query: HistoryQuery }
  | { readonly t: 'warm'; readonly id: number; readonly prefix: string }
  | {
      readonly t: 'join';
      readonly parent: string;
      readonly lane: string;
      readonly child: string;
      readonly value: unknown;
    }
  | { readonly t: 'remoteCommand'; readonly path: string; readonly lane: string; readonly value: unknown }
  | { readonly t: 'settle'; readonly id: number }
  /**
   * Worker `parentsOn` was restarted: the twins here whose parent (another shard key) it
   * owns send their joined values again (see Shard.resendJoins); answered with the count.
   */
  | { readonly t: 'resendJoins'; readonly id: number; readonly parentsOn: number }
  /** For the worker's extension (see {@link WorkerInit.extension}); answered with its result. */
  | { readonly t: 'extension'; readonly id: number; readonly message: unknown }
  | { readonly t: 'close'; readonly id: number };

export interface ToWorkerBatch {
  /** Main thread's clock time (simulated clocks only): the worker advances to it first. */
  readonly now?: number;
  readonly messages: readonly ToWorker[];
  /**
   * The batch's events as columns (see event-columns.ts), taken before {@link messages}. A
   * batch without it carries its events as `event` messages (the fallback when a batch
   * could not be cloned whole).
   */
  readonly events?: EventColumns;
}

/** Worker → main. */
export type FromWorker =
  | { readonly t: 'done'; readonly id: number; readonly error?: ErrorJson; readonly result?: unknown }
  /** Events of one batch that were accepted, by id: one message and one array, not an object per event. */
  | { readonly t: 'doneIds'; readonly ids: readonly number[] }
  | { readonly t: 'lane'; readonly oid: number; readonly path: string; readonly event: LaneEvent }
  | { readonly t: 'streamBuffer'; readonly oid: number }
  | { readonly t: 'output'; readonly event: DerivedEvent }
  | { readonly t: 'turnError'; readonly path: string; readonly error: ErrorJson }
  | WorkerLogLine
  | {
      readonly t: 'join';
      readonly parent: string;
      readonly lane: string;
      readonly child: string;
      readonly value: unknown;
    }
  | { readonly t: 'remoteCommand'; readonly path: string; readonly lane: string; readonly value: unknown };

export interface FromWorkerBatch {
  readonly messages: readonly FromWorker[];
  /** The worker's counters after the batch (kept by the main thread for `stats()`). */
  readonly counters: HostCounters | null;
  readonly activePaths?: readonly string[];
}

export type ReadResult = TwinSnapshot;
export type HistoryResult = HistoryPage;
