import { tooManyTwins } from '../actors/filter-links.js';
import { Shard, type ShardOptions } from '../actors/shard.js';
import type { InputLogCounts, ShardStats } from '../actors/stats.js';
import type { Twin } from '../actors/twin.js';
import { Ticket } from '../actors/work.js';
import type { TwinEvent } from '../model/twin-model.js';
import { markInternalMessage, TwinError } from '../errors.js';
import type { LaneObserver } from '../lanes/events.js';
import type { HistoryPage, HistoryQuery, StateStore } from '../store/state-store.js';
import { PathFilter } from '../topology/index.js';

/** A twin's state as reads return it. */
export interface TwinSnapshot {
  path: string;
  model: string;
  lanes: Record<string, unknown>;
}

/** A link observer the host may switch to a stream buffer (command and supply lanes). */
export interface HostObserver extends LaneObserver {
  useStreamBuffer?(): void;
}

/** Counters of all shards of a runtime, summed (monotonic, except the gauges activeTwins and observers). */
export interface HostCounters {
  events: number;
  duplicates: number;
  commands: number;
  turns: number;
  turnFailures: number;
  started: number;
  stopped: number;
  writes: number;
  outputs: number;
  unstorable: number;
  /** Stored records quarantined because they did not decode. */
  corruptRecords: number;
  /** Twin starts a shard refused because another shard owns the twin (see TwinDirectory.create). */
  startsRefused: number;
  /** Input taken from a durable input log (cluster mode), see ShardStats.inputLog. */
  inputLog: InputLogCounts;
  activeTwins: number;
  observers: number;
  turnLatencyNs: { p50: number; p99: number; max: number; samples: number };
}

/**
 * Where the twins of a runtime live: in this thread ({@link LocalShardHost}) or in
 * worker threads (`WorkerShardHost`). Every operation is expressible as a message, so
 * the Runtime API is the same whatever the worker count. Paths are already normalised.
 */
export interface ShardHost {
  submitEvent(event: TwinEvent, ticket: Ticket, index: number): void;
  /** `key`: the client's idempotency key (see CommandOptions.idempotencyKey). */
  submitCommand(path: string, lane: string, value: unknown, ticket: Ticket, key?: string): void;
  stop(path: string): Promise<void>;
  /** `release`: a twin this read started (it was not live) stops again once read (subtree queries). */
  read(path: string, lanes?: readonly string[], release?: boolean): Promise<TwinSnapshot>;
  /** Sends the lane's state, then registers; resolves once synced; rejects for unknown twins or lanes. */
  observe(path: string, lane: string, observer: HostObserver): Promise<void>;
  unobserve(path: string, lane: string, observer: LaneObserver): void;
  /**
   * Registers a wildcard observer and syncs every matching twin (live or stored), each
   * once, by its owner, without starting stored twins; rejects with TWIN_TOO_MANY_TWINS,
   * having registered nothing, when more than `limit` twins match in total.
   */
  observeFilter(filter: PathFilter, lane: string, observer: LaneObserver, limit?: number): Promise<void>;
  unobserveFilter(observer: LaneObserver): void;
  /** Live and stored twin paths matching the filter, each once, unsorted; TWIN_TOO_MANY_TWINS past `limit`. */
  list(filter: PathFilter, limit?: number): Promise<string[]>;
  /** One page of a twin's journal, read from its owner's store (see {@link HistoryQuery}). */
  history(path: string, query: HistoryQuery): Promise<HistoryPage>;
  /** Starts the stored twins at and under `prefix` that are not live; resolves with how many started. */
  warm(prefix: string): Promise<number>;
  settle(signal?: AbortSignal): Promise<void>;
  counters(): HostCounters;
  activePaths(): string[];
  close(): Promise<void>;
}

/** Counters of one shard in the shape of {@link HostCounters}. */
export function shardCounters(stats: ShardStats, activeTwins: number, observers: number): HostCounters {
  const h = stats.turnLatency;
  return {
    events: stats.events,
    duplicates: stats.duplicates,
    commands: stats.commands,
    turns: stats.turns,
    turnFailures: stats.turnFailures,
    started: stats.started,
    stopped: stats.stopped,
    writes: stats.writes,
    outputs: stats.outputs,
    unstorable: stats.unstorable,
    corruptRecords: stats.corruptRecords,
    startsRefused: stats.startsRefused,
    inputLog: { ...stats.inputLog },
    activeTwins,
    observers,
    turnLatencyNs: { p50: h.quantile(0.5), p99: h.quantile(0.99), max: h.max, samples: h.count },
  };
}

/**
 * Runs one Shard in this thread (`workers: 0`): what tests and debugging use, and what
 * each worker thread runs inside.
 */
export class LocalShardHost implements ShardHost {
  readonly shard: Shard;
  /** Observers whose observe has not run in the shard yet, and those of them unobserved meanwhile. */
  private readonly observing = new Set<LaneObserver>();
  private readonly cancelled = new Set<LaneObserver>();
  /** Exact links that started their twin (it was not live): released when they unlink. */
  private readonly startedFor = new Map<LaneObserver, string>();

  constructor(
    options: ShardOptions,
    private readonly store: StateStore,
  ) {
    this.shard = new Shard(options);
  }

  submitEvent(event: TwinEvent, ticket: Ticket, index: number): void {
    this.shard.enqueueEvent(event, ticket, index);
  }

  submitCommand(path: string, lane: string, value: unknown, ticket: Ticket, key?: string): void {
    this.shard.enqueue({ kind: 'command', path, lane, value, ticket, index: 0, ...(key !== undefined && { key }) });
  }

  async stop(path: string): Promise<void> {
    const ticket = new Ticket(1);
    this.shard.enqueue({ kind: 'stop', path, ticket });
    await ticket.promise;
  }

  read(path: string, lanes?: readonly string[], release = false): Promise<TwinSnapshot> {
    const snapshot = (twin: Twin): TwinSnapshot => ({
      path: twin.path,
      model: twin.model,
      lanes: twin.snapshot(lanes),
    });
    // The usual read is the call's own promise (activating a stored twin by a read costs no more).
    if (!release || this.shard.twin(path) !== undefined) return this.shard.call(path, snapshot);
    return this.shard.call(path, snapshot).finally(() => this.shard.release(path));
  }

  async observe(path: string, lane: string, observer: HostObserver): Promise<void> {
    // A twin not live when a link asks for it is started for the link, and released with it.
    if (this.shard.twin(path) === undefined) this.startedFor.set(observer, path);
    this.observing.add(observer);
    try {
      await this.shard.call(path, (twin) => {
        // Unobserved before this turn came: the last word wins, nothing is registered (and
        // a twin started only for it, of a made-up path, is dropped as stateless).
        if (this.cancelled.has(observer)) return undefined;
        const kind = twin.lane(lane)?.kind;
        if (kind === 'command' || kind === 'supply') observer.useStreamBuffer?.();
        Shard.syncAndObserve(this.shard, twin, lane, observer);
        return undefined;
      });
    } catch (err) {
      // A failed link (no such lane) holds nothing: a twin it started goes again.
      if (this.startedFor.get(observer) === path) {
        this.startedFor.delete(observer);
        this.shard.release(path);
      }
      throw err;
    } finally {
      this.observing.delete(observer);
      this.cancelled.delete(observer);
    }
  }

  unobserve(path: string, lane: string, observer: LaneObserver): void {
    // Its observe may still wait for its turn in the inbox: then it must not register.
    if (this.observing.has(observer)) this.cancelled.add(observer);
    this.shard.removeObserver(path, lane, observer);
    if (this.startedFor.get(observer) === path) {
      this.startedFor.delete(observer);
      this.shard.release(path);
    }
  }

  observeFilter(filter: PathFilter, lane: string, observer: LaneObserver, limit = Infinity): Promise<void> {
    return this.shard.linkFilter(filter, lane, observer, limit);
  }

  unobserveFilter(observer: LaneObserver): void {
    this.shard.unlinkFilter(observer);
  }

  async list(filter: PathFilter, limit = Infinity): Promise<string[]> {
    const paths = this.shard.candidatePaths(filter, limit);
    if (paths.length > limit) throw tooManyTwins(filter, limit);
    return paths;
  }

  /** How many owned twins a filter matches, counting no further than `cap` + 1. */
  countMatches(filter: PathFilter, cap: number): number {
    return this.shard.candidatePaths(filter, cap).length;
  }

  async history(path: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.store.history(path, query);
  }

  warm(prefix: string): Promise<number> {
    return this.shard.warm(prefix);
  }

  settle(): Promise<void> {
    return this.shard.settle();
  }

  counters(): HostCounters {
    return shardCounters(this.shard.stats, this.shard.activeTwins, this.shard.observers.size);
  }

  activePaths(): string[] {
    return [...this.shard.activePaths()];
  }

  async close(): Promise<void> {
    await this.shard.close();
    await this.store.close();
  }
}

/** Rebuilds a TwinError that crossed a thread boundary as plain JSON. */
export function errorFromJson(json: {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  internal?: true;
}): TwinError {
  const error = new TwinError(json.code as TwinError['code'], json.message, json.details);
  return json.internal ? markInternalMessage(error) : error;
}
