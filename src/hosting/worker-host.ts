import { Worker } from 'node:worker_threads';
import type { ModelCatalog } from '../actors/catalog.js';
import { SimulatedClock, type Clock } from '../actors/clock.js';
import { tooManyTwins } from '../actors/filter-links.js';
import type { Ticket } from '../actors/work.js';
import type { DerivedEvent, TwinEvent, TwinLogger } from '../model/twin-model.js';
import { TwinError } from '../errors.js';
import type { DataDirLock } from '../store/data-lock.js';
import { claimDataDir } from '../store/lmdb-store.js';
import type { LaneObserver } from '../lanes/events.js';
import type { HistoryPage, HistoryQuery } from '../store/state-store.js';
import type { PathFilter, ShardKeyFn, TwinPath } from '../topology/index.js';
import type { PassivationOptions } from '../actors/passivation.js';
import {
  errorFromJson,
  type HostCounters,
  type HostObserver,
  type ShardHost,
  type TwinSnapshot,
} from './shard-host.js';
import type {
  FromWorker,
  FromWorkerBatch,
  ModelSource,
  ToWorker,
  ToWorkerBatch,
  WorkerInit,
} from './worker-protocol.js';
import { EventColumnEncoder, type ColumnEvent } from './event-columns.js';
import { sumCounters } from './host-counters.js';
import { relayWorkerLog } from './worker-log.js';
import { PendingRequests } from './pending-requests.js';
import { WorkerCrossing } from './worker-crossing.js';
import { WorkerLinks } from './worker-links.js';
import { postBatch } from './worker-post.js';
import { WorkerRoutes } from './worker-routes.js';
import type { WorkerExtensionSource } from './worker-extension.js';

/** Worker threads of a runtime. */
export interface WorkerOptions {
  /** Number of shard workers (0 runs everything on the calling thread). */
  count: number;
  /** How workers build the models (they cannot receive functions). */
  models: ModelSource;
  /** LMDB data directory shared by all workers; without it each worker keeps state in memory. */
  dataDir?: string;
  durability?: 'strict' | 'relaxed';
  journalRetentionMs?: number;
  /** pino level inside workers (default: warn). */
  logLevel?: string;
  /**
   * V8 young-generation size of each worker in MiB (default {@link WORKER_YOUNG_GENERATION_MB}).
   * A shard allocates short-lived objects at a high rate (events, records, join values);
   * a larger nursery collects them with fewer scavenges and promotes fewer of them.
   */
  youngGenerationMb?: number;
  /** What shapes each worker's shard besides the defaults (cluster mode; see worker-extension.ts). */
  extension?: WorkerExtensionSource;
}

/**
 * What a worker pool is built from: the workers' own settings and the shard settings every
 * worker applies. The runtime's options satisfy it as they are.
 */
export interface WorkerHostOptions {
  workers: WorkerOptions;
  /** Runtime-wide shard key; with workers only one made by shardKeyUpTo() (it must cross threads). */
  shardKey?: ShardKeyFn;
  journal?: boolean;
  dedupeWindow?: number;
  stepBudget?: number;
  passivation?: PassivationOptions;
  /**
   * The worker of a twin, when not ownerOf over the worker count (cluster mode: its
   * vshard's); the workers' extension must apply the same rule.
   */
  placement?: (at: TwinPath) => number;
  /** Takes commands a twin sends to another twin (cluster mode: the target may run on another node). */
  onRemoteCommand?: (path: string, lane: string, value: unknown) => void;
  /** Told after worker `index` was restarted (its extension's state is new). */
  onRestart?: (index: number) => void;
}

/** 3 × V8's semi-space: 64 MiB semi-spaces measured ~+10 % events/s over Node's default 16 MiB (bench/README.md). */
export const WORKER_YOUNG_GENERATION_MB = 192;

interface Slot {
  worker: Worker;
  outbox: ToWorker[];
  counters: HostCounters | null;
  activePaths: readonly string[];
  /** Whether this worker ever sent a message (it started). */
  answered: boolean;
  /** The strings this worker's event columns refer to (a new worker starts without any). */
  columns: EventColumnEncoder;
}

/** Consecutive workers that die before answering, after which the runtime stops restarting. */
const MAX_FAILED_STARTS = 3;
/** Messages a worker's outbox holds before it is posted without waiting for the end of the tick. */
const EARLY_POST = 1000;

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * Twins on `count` worker threads. The main thread routes each message to the worker
 * owning the path ({@link WorkerRoutes}: FNV-1a of the shard key, so the same worker for
 * the whole subtree of a building by default), batches messages per worker per
 * event-loop turn, forwards joins and commands between workers, and restarts a worker
 * that dies: what it had not acknowledged is sent again ({@link PendingRequests}; the
 * per-twin dedupe window makes that idempotent), and its links are registered again
 * ({@link WorkerLinks}). This file spawns, restarts and feeds the workers.
 */
export class WorkerShardHost implements ShardHost {
  private readonly slots: Slot[] = [];
  private readonly pending = new PendingRequests();
  private readonly links = new WorkerLinks();
  private readonly routes: WorkerRoutes;
  private readonly crossing: WorkerCrossing;
  private flushScheduled = false;
  private closing = false;
  private failedStarts = 0;
  private readonly init: Omit<WorkerInit, 'index'>;
  private readonly youngGenerationMb: number;
  private readonly dataLock: DataDirLock | undefined;
  private readonly onRemoteCommand: WorkerHostOptions['onRemoteCommand'];
  private readonly onRestart: WorkerHostOptions['onRestart'];

  constructor(
    options: WorkerHostOptions,
    catalog: ModelCatalog,
    private readonly clock: Clock,
    private readonly log: TwinLogger,
    private readonly onOutput: (e: DerivedEvent) => void,
    private readonly onTurnError: (e: TwinError, path: string) => void,
  ) {
    const w = options.workers;
    this.youngGenerationMb = w.youngGenerationMb ?? WORKER_YOUNG_GENERATION_MB;
    this.init = {
      shardKeyUpTo: transferableShardKey(options.shardKey),
      count: w.count,
      models: w.models,
      dataDir: w.dataDir,
      durability: w.durability,
      journal: options.journal,
      journalRetentionMs: w.journalRetentionMs,
      dedupeWindow: options.dedupeWindow,
      stepBudget: options.stepBudget,
      passivation: options.passivation,
      logLevel: w.logLevel ?? 'warn',
      simulatedStart: clock instanceof SimulatedClock ? clock.now() : undefined,
      extension: w.extension,
    };
    this.onRemoteCommand = options.onRemoteCommand;
    this.onRestart = options.onRestart;
    // The process takes the data directory (and checks its file) before any worker opens it:
    // a second node on it, or a damaged file, fails here with one clear error (issue 13.7/13.8).
    this.dataLock = w.dataDir ? claimDataDir(w.dataDir) : undefined;
    // After a crash, joins to parents under another shard key that were in flight are gone:
    // each worker sends its stored twins' values to such parents again (ShardOptions.recoverJoins).
    if (this.dataLock?.afterCrash) this.init = { ...this.init, recoverJoins: true };
    this.routes = new WorkerRoutes(catalog, w.count, options.placement);
    this.crossing = new WorkerCrossing(this.init.simulatedStart !== undefined, (worker, message) =>
      this.send(worker, message),
    );
    for (let i = 0; i < w.count; i++) this.slots.push(this.spawn(i));
  }

  /** A message for worker `index`'s extension (see {@link WorkerOptions.extension}); resolves with its answer. */
  extension(index: number, message: unknown): Promise<unknown> {
    return this.request(index, (id) => ({ t: 'extension', id, message }));
  }

  /** Terminates worker `index` as a crash would (fault-injection tests); it is restarted. */
  async crashWorker(index: number): Promise<void> {
    await this.slots[index]!.worker.terminate();
  }

  submitEvent(event: TwinEvent, ticket: Ticket, index: number): void {
    const worker = this.routes.of(event.subject);
    const id = this.pending.nextId();
    const message: ToWorker = { t: 'event', id, event };
    this.pending.addTicket(id, worker, message, ticket, index);
    this.send(worker, message);
  }

  submitCommand(path: string, lane: string, value: unknown, ticket: Ticket, key?: string): void {
    const worker = this.routes.of(path);
    const id = this.pending.nextId();
    const message: ToWorker = { t: 'command', id, path, lane, value, ...(key !== undefined && { key }) };
    this.pending.addTicket(id, worker, message, ticket, 0);
    this.send(worker, message);
  }

  async stop(path: string): Promise<void> {
    await this.request(this.routes.of(path), (id) => ({ t: 'stop', id, path }));
  }

  read(path: string, lanes?: readonly string[], release?: boolean): Promise<TwinSnapshot> {
    return this.request(this.routes.of(path), (id) => ({
      t: 'read',
      id,
      path,
      lanes,
      release,
    })) as Promise<TwinSnapshot>;
  }

  async observe(path: string, lane: string, observer: HostObserver): Promise<void> {
    const oid = this.pending.nextId();
    this.links.add(oid, { observer, lane, path });
    try {
      await this.request(this.routes.of(path), (id) => ({ t: 'observe', id, oid, path, lane }));
    } catch (err) {
      this.links.forget(oid, observer);
      throw err;
    }
    observer.onSynced?.();
  }

  unobserve(_path: string, _lane: string, observer: LaneObserver): void {
    this.drop(observer, (link) => [this.routes.of(link.path!)]);
  }

  /**
   * Two phases, so the limit bounds the link as a whole, not each worker: every worker
   * counts the twins it owns that match (stopping past the limit), the sum decides, and
   * only then does each worker link and sync its own twins. Unlinked meanwhile: the
   * second phase is never sent (the last word wins).
   */
  async observeFilter(filter: PathFilter, lane: string, observer: LaneObserver, limit = Infinity): Promise<void> {
    const oid = this.pending.nextId();
    const within = filter.scopeTexts;
    this.links.add(oid, { observer, lane, filter: filter.text, within });
    try {
      if (limit !== Infinity) {
        const counts = await Promise.all(
          this.slots.map((_, i) =>
            this.request(i, (id) => ({ t: 'count', id, filter: filter.text, within, cap: limit })),
          ),
        );
        if ((counts as number[]).reduce((a, b) => a + b, 0) > limit) throw tooManyTwins(filter, limit);
      }
      if (!this.links.admit(oid)) return;
      await Promise.all(
        this.slots.map((_, i) =>
          this.request(i, (id) => ({ t: 'observeFilter', id, oid, filter: filter.text, within, lane, limit })),
        ),
      );
    } catch (err) {
      this.drop(observer, () => this.routes.all());
      throw err;
    }
  }

  unobserveFilter(observer: LaneObserver): void {
    this.drop(observer, () => this.routes.all());
  }

  /** Each worker lists the twins it owns, so every path comes once. */
  async list(filter: PathFilter, limit = Infinity): Promise<string[]> {
    const parts = await Promise.all(
      this.slots.map((_, i) =>
        this.request(i, (id) => ({ t: 'list', id, filter: filter.text, within: filter.scopeTexts, limit })),
      ),
    );
    const paths = (parts as string[][]).flat();
    if (paths.length > limit) throw tooManyTwins(filter, limit);
    return paths;
  }

  /**
   * A subtree that lies on one shard (a building or below, by default) is warmed by its
   * owner alone; otherwise every worker scans the prefix and starts the twins it owns.
   */
  async warm(prefix: string): Promise<number> {
    const counts = await Promise.all(
      this.routes.subtree(prefix).map((i) => this.request(i, (id) => ({ t: 'warm', id, prefix }))),
    );
    return (counts as number[]).reduce((a, b) => a + b, 0);
  }

  history(path: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.request(this.routes.of(path), (id) => ({ t: 'history', id, path, query })) as Promise<HistoryPage>;
  }

  /**
   * Quiet when every worker settled and no join or command crossed between workers
   * during the round (a forwarded join makes another worker busy again).
   */
  async settle(signal?: AbortSignal): Promise<void> {
    for (;;) {
      // A round asks every worker (and copies its live paths back): stop when the caller gave up.
      signal?.throwIfAborted();
      const before = this.crossing.forwarded;
      const paths = await Promise.all(this.slots.map((_, i) => this.request(i, (id) => ({ t: 'settle', id }))));
      paths.forEach((p, i) => {
        if (p !== null) this.slots[i]!.activePaths = p as string[]; // null: unchanged since its last answer
      });
      if (this.crossing.releaseHeld()) continue; // every worker finished the step
      if (this.crossing.forwarded === before && this.pending.size === 0) return;
    }
  }

  counters(): HostCounters {
    return sumCounters(this.slots.map((s) => s.counters));
  }

  /** Live twins as of the last settle (workers report them when asked to settle). */
  activePaths(): string[] {
    return this.slots.flatMap((s) => s.activePaths);
  }

  async close(): Promise<void> {
    try {
      await this.settle();
      this.closing = true;
      await Promise.all(this.slots.map((_, i) => this.request(i, (id) => ({ t: 'close', id }))));
    } finally {
      // Also when a worker could not start (settle rejected): the others must not outlive the host.
      this.closing = true;
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
      this.dataLock?.release();
    }
  }

  private spawn(index: number): Slot {
    const entry = new URL(`./worker-main${EXT}`, import.meta.url).href;
    const workerData = { ...this.init, index } satisfies WorkerInit;
    // From TypeScript sources (tests, tsx) the worker registers tsx itself: loader flags
    // in execArgv do not reach a worker's entry module on Node 20.
    const resourceLimits = { maxYoungGenerationSizeMb: this.youngGenerationMb };
    const worker =
      EXT === '.ts'
        ? new Worker(
            `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
            { eval: true, workerData, resourceLimits },
          )
        : new Worker(new URL(entry), { workerData, resourceLimits });
    const slot: Slot = {
      worker,
      outbox: [],
      counters: null,
      activePaths: [],
      answered: false,
      columns: new EventColumnEncoder(),
    };
    worker.on('message', (batch: FromWorkerBatch) => {
      slot.answered = true;
      this.failedStarts = 0;
      this.receive(index, batch);
    });
    worker.on('error', (err) => this.log.error({ worker: index, err }, 'shard worker failed'));
    worker.on('exit', (code) => {
      if (this.closing || this.slots[index] !== slot) return;
      // A worker that dies before answering anything will not start next time either.
      if (!slot.answered && ++this.failedStarts > MAX_FAILED_STARTS) {
        this.log.error({ worker: index, code }, 'shard worker cannot start; giving up');
        this.pending.failWorker(
          index,
          new TwinError('TWIN_RUNTIME_CLOSED', `shard worker ${index} cannot start (exit code ${code})`),
        );
        return;
      }
      this.log.error({ worker: index, code }, 'shard worker exited; restarting it');
      this.restart(index);
    });
    return slot;
  }

  /**
   * A new worker for `index`: observers first, then every unacknowledged message in order.
   * Each link is registered once: one whose observe is still unanswered is registered by
   * that message (sent again below, with the id its caller waits on), not also from the
   * link registry; one unlinked meanwhile is not registered at all (the last word wins, as in
   * a live worker), its caller told it is done. A wildcard link still counting is linked
   * by its second phase once the count admits it (a replay now would skip the limit).
   */
  private restart(index: number): void {
    const slot = this.spawn(index);
    this.slots[index] = slot;
    const resent = this.pending.resentLinks(index, (oid) => this.links.has(oid));
    for (const m of this.links.relink(index, (path) => this.routes.of(path), resent)) slot.outbox.push(m);
    for (const m of this.pending.messagesOf(index)) slot.outbox.push(m);
    this.scheduleFlush();
    this.resendJoinsTo(index);
    this.onRestart?.(index);
  }

  /**
   * Joins other workers (and the dead one itself) sent to worker `index`'s parents were
   * forwarded as messages that nothing acknowledges: what it had not committed when it died
   * is gone, and nothing would send those values again until each child changed. So every
   * worker has the children of its parents send them again (a parent that holds a value
   * already runs no turn). A request per worker: `settle` waits for it, and a worker that
   * dies meanwhile gets it again. Not with an extension (cluster mode), whose placement and
   * recovery are its own.
   */
  private resendJoinsTo(index: number): void {
    if (this.init.extension) return;
    for (let i = 0; i < this.slots.length; i++)
      this.request(i, (id) => ({ t: 'resendJoins', id, parentsOn: index })).then(
        (count) => {
          if ((count as number) > 0)
            this.log.info({ worker: i, twins: count, restarted: index }, 'resent joins to a restarted worker');
        },
        (err: unknown) => this.log.warn({ worker: i, err }, 'could not resend joins to a restarted worker'),
      );
  }

  private receive(index: number, batch: FromWorkerBatch): void {
    if (batch.counters !== null) this.slots[index]!.counters = batch.counters; // (null: a log line alone)
    for (const m of batch.messages) this.handle(m);
  }

  private handle(m: FromWorker): void {
    switch (m.t) {
      case 'done':
        this.pending.answer(m.id, m.error, m.result);
        return;
      case 'doneIds':
        for (let i = 0; i < m.ids.length; i++) this.pending.answer(m.ids[i]!, undefined, undefined);
        return;
      case 'lane':
        this.links.deliver(m.oid, m.event, m.path);
        return;
      case 'streamBuffer':
        this.links.useStreamBuffer(m.oid);
        return;
      case 'output':
        this.onOutput(m.event);
        return;
      case 'turnError':
        this.onTurnError(errorFromJson(m.error), m.path);
        return;
      case 'log':
        relayWorkerLog(this.log, m);
        return;
      case 'join':
        this.crossing.forward(this.routes.of(m.parent), {
          t: 'join',
          parent: m.parent,
          lane: m.lane,
          child: m.child,
          value: m.value,
        });
        return;
      case 'remoteCommand':
        if (this.onRemoteCommand) return this.onRemoteCommand(m.path, m.lane, m.value);
        this.crossing.forward(this.routes.of(m.path), {
          t: 'remoteCommand',
          path: m.path,
          lane: m.lane,
          value: m.value,
        });
        return;
    }
  }

  /** Unlinks `observer` (if linked) on the workers that hold its link. */
  private drop(observer: LaneObserver, workers: (link: { path?: string }) => number[]): void {
    const removed = this.links.remove(observer);
    if (!removed) return;
    for (const i of workers(removed.link)) this.send(i, { t: 'unobserve', oid: removed.oid });
  }

  private request(worker: number, build: (id: number) => ToWorker): Promise<unknown> {
    return this.pending.request(worker, build, (w, message) => this.send(w, message));
  }

  private send(worker: number, message: ToWorker): void {
    const slot = this.slots[worker]!;
    slot.outbox.push(message);
    // Live, a large ingest call goes out in parts while it is still being routed, so the
    // worker starts on the first part instead of idling until the whole call is read (with
    // 4 calls of 5,000 events in flight it idled ~20 % of the time). Not in virtual time:
    // there a step's events reach each worker as one batch, as one shard takes them in one
    // step (the step rule, docs/replay.md).
    if (slot.outbox.length >= EARLY_POST && this.init.simulatedStart === undefined) this.post(slot);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const slot of this.slots) this.post(slot);
    });
  }

  /**
   * Posts a worker's outbox as one batch, with virtual time as it is now: its events as
   * columns (event-columns.ts), the rest as messages. The worker takes a batch's events
   * before its other messages either way. A batch that cannot be cloned (a value in some
   * event's data) is posted again message by message, so only what cannot cross fails.
   */
  private post(slot: Slot): void {
    if (slot.outbox.length === 0) return;
    const now = this.init.simulatedStart !== undefined ? this.clock.now() : undefined;
    const messages = slot.outbox;
    slot.outbox = [];
    const events: ColumnEvent[] = [];
    const rest: ToWorker[] = [];
    for (const m of messages) {
      if (m.t === 'event') events.push(m);
      else rest.push(m);
    }
    if (events.length > 0) {
      try {
        slot.worker.postMessage({ now, messages: rest, events: slot.columns.encode(events) } satisfies ToWorkerBatch);
        return;
      } catch {
        slot.columns.lost();
      }
    }
    postBatch(
      (m) => slot.worker.postMessage({ now, messages: m }),
      messages,
      (m, err) => this.unsendable(m, err),
    );
  }

  /** A message that cannot be cloned to a worker fails alone (its caller learns why); the rest went. */
  private unsendable(message: ToWorker, err: unknown): void {
    const error = new TwinError(
      'TWIN_EVENT_INVALID',
      `message cannot be passed to a shard worker: ${(err as Error)?.message ?? err}`,
    );
    this.log.error({ kind: message.t, err: error.message }, 'message to a shard worker could not be cloned; refused');
    if ('id' in message) this.pending.fail(message.id, error);
  }
}

/**
 * Workers must place twins exactly as the main thread routes them, so a runtime-wide
 * `shardKey` has to reach them: one made by `shardKeyUpTo` travels as its segment name;
 * any other function cannot cross a thread (models may still set their own `shardKey`,
 * since workers import the model module).
 */
function transferableShardKey(fn: ShardKeyFn | undefined): string | undefined {
  if (fn === undefined) return undefined;
  const upTo = (fn as { upTo?: unknown }).upTo;
  if (typeof upTo === 'string') return upTo;
  throw new TwinError(
    'TWIN_CONFIG_INVALID',
    "with workers, the runtime's shardKey option must be made by shardKeyUpTo(); set a custom function as the models' shardKey instead",
  );
}
