import type { ModelCatalog } from '../actors/catalog.js';
import type { RemoteMessage } from '../actors/shard-options.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { StateStore } from '../store/state-store.js';
import type { LocalShardHost } from './shard-host.js';

/**
 * A module that shapes what a shard worker runs, named by URL so this layer needs no
 * import of it (cluster mode: the worker's store is its vshards' state logs, it may start
 * the twins of the vshards it was told to run, and joins leave through JetStream).
 * The module exports `createWorkerExtension` ({@link CreateWorkerExtension}).
 */
export interface WorkerExtensionSource {
  /** File URL of the module. */
  readonly module: string;
  /** Structured-cloneable options for it (a SharedArrayBuffer is shared, not copied). */
  readonly options: unknown;
}

/** What a worker tells its extension about itself. */
export interface WorkerExtensionContext {
  readonly catalog: ModelCatalog;
  readonly log: TwinLogger;
  /** This worker's index and the number of workers. */
  readonly index: number;
  readonly count: number;
}

/** A worker's extension, built before its shard. */
export interface WorkerExtension {
  /** The shard's state store. */
  readonly store: StateStore;
  /** Whether the shard may start the twin at `path` (its ownership rule). */
  owns(path: string): boolean;
  /** The shard sends cross-shard messages only once their step committed (ShardOptions.remoteAfterCommit). */
  readonly remoteAfterCommit?: boolean;
  /** Takes a cross-shard message (true) or leaves it to the main thread (false). */
  remote(message: RemoteMessage): boolean;
  /** The shard host, once built. */
  attach(host: LocalShardHost): void;
  /** A control message from the main thread (WorkerShardHost.extension); its answer goes back. */
  control(message: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export type CreateWorkerExtension = (options: unknown, context: WorkerExtensionContext) => Promise<WorkerExtension>;

/** Imports the extension module and builds the extension. */
export async function loadWorkerExtension(
  source: WorkerExtensionSource,
  context: WorkerExtensionContext,
): Promise<WorkerExtension> {
  const module = (await import(source.module)) as { createWorkerExtension?: CreateWorkerExtension };
  if (typeof module.createWorkerExtension !== 'function')
    throw new Error(`${source.module} does not export createWorkerExtension`);
  return module.createWorkerExtension(source.options, context);
}
