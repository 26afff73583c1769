/**
 * What a runtime is made with ({@link RuntimeOptions}) and what its calls take and give
 * (options of commands, links and matches, the ingest report, its counters): the Runtime
 * API's types, apart from the class that implements them (runtime.ts).
 */
import type { Clock } from '../actors/clock.js';
import type { PassivationOptions } from '../actors/passivation.js';
import type { ClusterOptions } from '../cluster/cluster-options.js';
import { TwinError } from '../errors.js';
import type { HostCounters } from '../hosting/shard-host.js';
import type { ModelSet } from '../model/model-set.js';
import type { TwinLogger, TwinModel } from '../model/twin-model.js';
import type { StateStore } from '../store/state-store.js';
import type { ShardKeyFn } from '../topology/index.js';
import type { RuntimeWorkerOptions } from './runtime-models.js';

export interface RuntimeOptions {
  /**
   * The model set to run: its models, its shard key and, with `workers`, the module the
   * workers import it from (see {@link defineModelSet}). Or give `models`.
   */
  modelSet?: ModelSet<any>;
  /** The twin models, each binding a route (when not given as a `modelSet`). */
  models?: readonly TwinModel<any>[];
  /** Time source. Default: the wall clock. Pass a `SimulatedClock` for tests and replays. */
  clock?: Clock;
  /** Where lane state lives. Default: in memory (lost when the process exits). */
  store?: StateStore;
  /** A pino logger (or anything with its four methods). */
  logger?: TwinLogger;
  /** Default shard key for routes that do not set their own (default: the model set's, else up to the building). */
  shardKey?: ShardKeyFn;
  /** Inbox items per step before committing and yielding to I/O (default 50 000). */
  stepBudget?: number;
  /** Passivation of idle twins and a cap on live twins (default: none; twins stay live). */
  passivation?: PassivationOptions;
  /** Journal every committed turn (cause and lane changes) for history and state-as-of reads. */
  journal?: boolean;
  /**
   * Per-twin window of remembered `source`+`id` keys for idempotent redelivery (default 8,
   * 0 = off, at most {@link MAX_DEDUPE_WINDOW}: each event scans the window and each twin
   * stores it).
   */
  dedupeWindow?: number;
  /**
   * Deepest nesting accepted in an event's data or a command's value (default 64, an integer
   * of at least 1); deeper input is refused with TWIN_PAYLOAD_TOO_DEEP before it is queued
   * (see checkPayload, whose walk is iterative at any depth).
   */
  maxPayloadDepth?: number;
  /**
   * Run the twins on worker threads (`count` > 0) instead of this thread. Models must
   * then be importable by the workers: a `modelSet` with its module, or `workers.models`
   * (see {@link WorkerOptions}); `store` is ignored in favour of `workers.dataDir` (one
   * LMDB environment shared by all workers) or an in-memory store per worker.
   */
  workers?: RuntimeWorkerOptions;
  /**
   * Most twins one wildcard link ({@link Runtime.linkFilter}, a WARP link to a filter) or
   * one listing ({@link Runtime.listTwins}, the HTTP subtree query) may match, counted
   * before anything is synced: past it they fail with TWIN_TOO_MANY_TWINS. Default
   * {@link DEFAULT_MAX_LINK_TWINS}; `Infinity` for none.
   */
  maxLinkTwins?: number;
  /**
   * Join a cluster of nodes sharing one twin space over NATS JetStream (docs/cluster.md):
   * events go through the vshard's input stream, state lives in its state log, and each
   * twin runs on the node that holds its vshard's lease. Await {@link Runtime.ready}.
   * `store` is ignored; `workers` must be 0 or absent for now (the node's vshards run on
   * its main thread).
   */
  cluster?: ClusterOptions & { advertise?: { http?: string; warp?: string } };
  /**
   * Most derived events kept for output listeners that have not subscribed yet (default
   * {@link DEFAULT_HELD_OUTPUTS}; 0 keeps none, as before): those emitted before the first
   * {@link Runtime.onOutput} listener, or while {@link Runtime.holdOutputs} holds them. Past it
   * the oldest are dropped, counted ({@link Runtime.outputsHeldDropped}) and logged.
   */
  heldOutputs?: number;
}

/** Default of {@link RuntimeOptions.maxLinkTwins}: a floor of a large building, far below what fills memory. */
export const DEFAULT_MAX_LINK_TWINS = 10_000;

/**
 * Default of {@link RuntimeOptions.heldOutputs}: what one sink queue of a node takes
 * (SinkQueueOptions.capacity), so a sink handed the held events drops (and counts) any excess itself.
 */
export const DEFAULT_HELD_OUTPUTS = 10_000;

/** Options of {@link Runtime.linkFilter} and {@link Runtime.listTwins}. */
export interface MatchOptions {
  /** Most twins the filter may match (default: the runtime's `maxLinkTwins`). */
  limit?: number;
  /**
   * Filters a matching twin must also meet one of: the patterns the caller may read (a
   * principal's grants). Twins outside are neither counted, listed, synced nor started.
   */
  within?: readonly string[];
}

/** Options of {@link Runtime.command}. */
export interface CommandOptions {
  /** The command comes from a network client: value lanes must be declared `writable`. */
  fromClient?: boolean;
  /**
   * The client's idempotency key (HTTP `Idempotency-Key`): a command to the same twin and
   * lane with the key of one it took recently (its dedupe window, the last 8 events and
   * keyed commands by default) is acknowledged without running again, so a client that
   * retries after a lost answer applies it once. 1-256 printable characters.
   */
  idempotencyKey?: string;
}

/** Options of {@link Runtime.link}. */
export interface LinkOptions {
  /**
   * Called synchronously once the lane's state was delivered and before any later
   * change, so a network front can place its own `@synced` marker exactly.
   */
  onSynced?: () => void;
}

/** The outcome of an ingest call, known once its effects are committed. */
export interface IngestReport {
  accepted: number;
  rejected: { index: number; error: TwinError }[];
}

/** Counters of a runtime (monotonic, except the gauges activeTwins and observers). */
export type RuntimeStats = HostCounters;

/** Largest {@link RuntimeOptions.dedupeWindow}. */
export const MAX_DEDUPE_WINDOW = 1024;

/**
 * Refuses numeric options outside what the runtime is built for, with TWIN_CONFIG_INVALID
 * naming the option: a misconfiguration is an error at start, not a twin's window that
 * grows without bound or a check that silently lets everything through (NaN).
 */
export function checkRuntimeOptions(options: RuntimeOptions): void {
  const integer = (name: string, value: number | undefined, min: number, max: number): void => {
    if (value === undefined || (Number.isInteger(value) && value >= min && value <= max)) return;
    const range = max === Infinity ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
    throw new TwinError('TWIN_CONFIG_INVALID', `${name} must be ${range}, got ${String(value)}`);
  };
  if (options.maxLinkTwins !== Infinity) integer('maxLinkTwins', options.maxLinkTwins, 1, Infinity);
  integer('heldOutputs', options.heldOutputs, 0, Infinity);
  integer('dedupeWindow', options.dedupeWindow, 0, MAX_DEDUPE_WINDOW);
  integer('maxPayloadDepth', options.maxPayloadDepth, 1, Infinity);
}
