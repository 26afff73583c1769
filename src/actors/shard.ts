import { TwinError } from '../errors.js';
import type { LaneObserver } from '../lanes/events.js';
import { isUnder } from '../lanes/inline-entries.js';
import { ThrottledWarning } from '../logger.js';
import type { TwinEvent, TwinLogger } from '../model/twin-model.js';
import { TwinPath, type PathFilter } from '../topology/index.js';
import type { Clock } from './clock.js';
import { CorruptRecords } from './corrupt-records.js';
import { JoinBuffer } from './join-buffer.js';
import { FilterLinks } from './filter-links.js';
import { Inbox } from './inbox.js';
import { ObserverRegistry } from './observers.js';
import { ShardStats } from './stats.js';
import { ShardAlarm } from './shard-alarm.js';
import { TimerRecovery } from './timer-recovery.js';
import { JoinRecovery } from './join-recovery.js';
import { Passivator } from './passivation.js';
import type { Twin } from './twin.js';
import { StepCommit } from './step-commit.js';
import { TwinDirectory } from './twin-directory.js';
import { TwinLifecycle } from './twin-lifecycle.js';
import { TwinLoader } from './twin-loader.js';
import { TurnRunner, type TurnSink } from './turn-runner.js';
import { Ticket, type WarmChunk, type Work } from './work.js';
import type { RemoteMessage, ShardOptions } from './shard-options.js';
import { WorkDispatch } from './work-dispatch.js';

export type { ShardOptions, RemoteMessage } from './shard-options.js';

/** What a `call` resolves with: its function's result, or its TwinError thrown. */
function callResult<R>(ticket: Ticket<R>): R {
  const failure = ticket.rejected[0];
  if (failure) throw failure.error;
  return ticket.result as R;
}

/** Join rounds per step: deeper than any sane hierarchy, shallow enough to stop a cycle. */
const MAX_JOIN_ROUNDS = 64;

/**
 * A single-threaded owner of many twins. Work arrives in an inbox; a step processes it
 * in arrival order (one turn at a time, never two turns of a twin interleaved), then runs
 * the coalesced join updates level by level up the hierarchy, then hands the step's
 * writes to group commit. Everything a step does is synchronous, so the same inputs in
 * the same steps give the same state, on any thread.
 *
 * This file is the inbox, the step loop and the shard's API; its parts:
 * {@link WorkDispatch} (what each inbox item does), {@link TwinLoader} (finding or
 * loading a work item's twin), {@link TwinLifecycle} (start, stop, dropping stateless
 * twins), {@link CorruptRecords} (damaged stored state), {@link StepCommit} (the step's
 * tickets, writes and outputs to group commit), {@link TurnRunner} (turns) and
 * {@link FilterLinks} (wildcard links).
 */
export class Shard implements TurnSink {
  readonly clock: Clock;
  readonly log: TwinLogger;
  readonly stats = new ShardStats();
  readonly observers = new ObserverRegistry();
  private readonly directory: TwinDirectory;
  /** Live twins by path (the directory's map, read on every work item). */
  private readonly twins: Map<string, Twin>;
  private readonly timerRecovery: TimerRecovery;
  private readonly passivator: Passivator;
  private readonly filterLinks: FilterLinks;
  private readonly loader: TwinLoader;
  private readonly lifecycle: TwinLifecycle;
  private readonly dispatch: WorkDispatch;
  private readonly inbox = new Inbox();
  private readonly joins = new JoinBuffer();
  private readonly runner: TurnRunner;
  private readonly alarm: ShardAlarm;
  private readonly step: StepCommit;
  private readonly joinRecovery: JoinRecovery;
  private drainScheduled = false;
  /**
   * What a scheduled drain runs, made once: an arrow function made in scheduleDrain would
   * have V8 allocate that method's closure context (~40 B) on every call, the calls that
   * return early included (it is allocated on entry), i.e. on every event queued.
   */
  private readonly scheduledDrain = (): void => {
    this.drainScheduled = false;
    this.drain();
  };
  /** The drain running now was started by the timer alarm (a clock callback). */
  private timerStep = false;
  private draining = false;
  private closed = false;
  /** Remote join updates of a child that is no path under its parent (see acceptRemoteJoin). */
  private readonly foreignJoins: ThrottledWarning;

  constructor(private readonly options: ShardOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.foreignJoins = new ThrottledWarning(
      options.log,
      "a join update of a child that is no path under its parent's was dropped",
      10_000,
      'dropped',
    );
    const journaling = options.journal === true;
    this.runner = new TurnRunner(options.clock, options.log, this.stats, this.observers, this, journaling);
    this.runner.liveRecords = options.store.liveRecords?.();
    this.directory = new TwinDirectory(options.catalog, options.store, this.runner, options.owns, (path) =>
      this.refusedStart(path),
    );
    this.twins = this.directory.live;
    const { store, log } = options;
    const corrupt = new CorruptRecords(store, this.stats, log);
    this.step = new StepCommit({
      store,
      runner: this.runner,
      directory: this.directory,
      stats: this.stats,
      log,
      onOutput: options.onOutput,
      onRemote: options.onRemote,
    });
    this.lifecycle = new TwinLifecycle({
      directory: this.directory,
      runner: this.runner,
      observers: this.observers,
      step: this.step,
      corrupt,
      stats: this.stats,
      log,
      journaling,
    });
    this.loader = new TwinLoader({
      directory: this.directory,
      corrupt,
      start: (twin, stored) => this.lifecycle.start(twin, stored),
      finish: (work, error) => this.step.finish(work, error),
      resume: (buffered) => {
        this.inbox.pushFront(buffered);
        this.drain();
      },
      flush: () => this.step.flush(),
      closed: () => this.closed,
    });
    this.filterLinks = new FilterLinks({
      directory: this.directory,
      observers: this.observers,
      load: (path) => this.loader.load(path),
      start: (path) =>
        this.call(path, () => undefined).then(
          () => undefined,
          () => undefined,
        ),
      stop: (path) => this.release(path),
    });
    this.observers.onFilterDropped = (observer) => this.filterLinks.unlink(observer);
    this.dispatch = new WorkDispatch({
      clock: options.clock,
      directory: this.directory,
      observers: this.observers,
      loader: this.loader,
      lifecycle: this.lifecycle,
      runner: this.runner,
      step: this.step,
      stats: this.stats,
      journaling,
      dedupeWindow: options.dedupeWindow ?? 8,
      warm: { store, directory: this.directory, log, start: (twin, stored) => this.lifecycle.start(twin, stored) },
    });
    this.timerRecovery = new TimerRecovery(options.store, options.clock, (stored) => {
      // A stored key, so parsed here: work items carry canonical paths (see Work).
      let path: string;
      try {
        path = TwinPath.parse(stored).text;
      } catch (err) {
        this.log.warn({ path: stored, err }, 'could not restore a twin with due timers');
        return;
      }
      // Only this shard's twins, and only those not live (a live twin has its timers armed).
      if (this.closed || this.twins.has(path) || !this.directory.isLocal(path)) return;
      this.call(path, () => undefined).catch((err) =>
        this.log.warn({ path, err }, 'could not restore a twin with due timers'),
      );
    });
    queueMicrotask(() => this.timerRecovery.start());
    this.joinRecovery = new JoinRecovery({
      store,
      catalog: options.catalog,
      owns: options.owns,
      log: this.log,
      live: this.twins,
      call: (path, fn) => this.call(path, fn),
      resend: (twin) => this.runner.resendJoins(twin),
      closed: () => this.closed,
    });
    if (options.recoverJoins) queueMicrotask(() => this.joinRecovery.afterCrash());
    this.alarm = new ShardAlarm(options.clock, (due) => {
      for (const e of due) this.inbox.push({ kind: 'timer', path: e.path, name: e.name, due: e.due });
      // Now, synchronously: on a simulated clock every timer's turn sees its own time.
      this.timerStep = true;
      try {
        this.drain();
      } finally {
        this.timerStep = false;
      }
    });
    this.passivator = new Passivator(options.passivation, options.clock, () => this.scheduleDrain());
  }

  /** Number of live twins. */
  get activeTwins(): number {
    return this.twins.size;
  }

  /** A live twin, if its path is active here (read-only use: tests, HTTP reads). */
  twin(path: string): Twin | undefined {
    return this.twins.get(path);
  }

  activePaths(): IterableIterator<string> {
    return this.twins.keys();
  }

  /** Queues work; it runs in the next step (batched with whatever else arrives meanwhile). */
  enqueue(work: Work): void {
    if (this.closed) throw new TwinError('TWIN_RUNTIME_CLOSED');
    this.inbox.push(work);
    this.scheduleDrain();
  }

  /**
   * Queues an event for the twin at its subject (a normalised path), item `index` of
   * `ticket`'s batch: what `enqueue` of an event item does, without the item.
   */
  enqueueEvent(event: TwinEvent, ticket: Ticket | null, index: number): void {
    if (this.closed) throw new TwinError('TWIN_RUNTIME_CLOSED');
    this.inbox.pushEvent(event, ticket, index);
    this.scheduleDrain();
  }

  /**
   * Another shard that owns parents of this shard's twins lost what it had not committed
   * (its worker thread died and was restarted): see {@link JoinRecovery.resend}.
   */
  resendJoins(parentWanted: (parent: string) => boolean): Promise<number> {
    return this.joinRecovery.resend(parentWanted);
  }

  /** Resolves when the inbox is empty, no twin is loading and every commit finished. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.pendingWork() === 0 && !this.drainScheduled && this.loader.size === 0 && this.joins.size === 0) {
        if (!this.step.busy) return;
        await this.step.idle();
        continue;
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Runs one step now: the inbox (up to the budget), the join rounds, then commit. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      this.dispatch.beginStep();
      let budget = this.options.stepBudget ?? 50_000;
      while (this.inbox.size > 0 && budget-- > 0) this.inbox.runNext(this.dispatch);
      for (let round = 0; this.joins.size > 0; round++) {
        if (round >= MAX_JOIN_ROUNDS) {
          this.log.error({ rounds: round }, 'join propagation did not settle; a join cycle between models?');
          this.joins.take();
          break;
        }
        const taken = this.joins.take();
        for (let i = 0; i < taken.length; i++) {
          const parent = taken.parent(i);
          const updates = taken.updates(i);
          this.dispatch.processJoins(parent, updates);
          // Applied, or failed with its twin: reused. A parent still loading holds it until it starts.
          if (this.twins.get(parent)?.state !== 'starting') this.joins.recycle(updates);
        }
      }
      if (!this.closed) {
        this.lifecycle.dropStateless();
        // Not at the end of a timer step: on a simulated clock a twin stopped there could not
        // start again (its final write commits after clock.advance returns) when its own timer
        // comes due later in the same advance. The next ordinary step passivates instead.
        if (!this.timerStep) this.passivator.run(this.twins, (twin) => this.lifecycle.stop(twin));
        else if (this.options.passivation) this.scheduleDrain();
      }
      this.step.flush();
    } finally {
      this.draining = false;
    }
    if (this.inbox.size > 0) this.scheduleDrain();
  }

  async close(): Promise<void> {
    await this.settle();
    this.closed = true;
    this.timerRecovery.stop();
    this.passivator.stop();
    this.alarm.stop();
  }

  // ---- TurnSink (called by the turn runner as turns commit) ------------------------

  enqueueLocal(work: Work): void {
    this.inbox.push(work);
  }

  /** A child's join value: buffered for a local parent's next join round, else sent to its shard. */
  addJoin(child: Twin, joinLane: string, value: unknown, changed: boolean): void {
    const parent = child.parent!;
    if (!child.parentRemote && this.directory.isLocal(parent))
      this.joins.add(parent, joinLane, child.path, value, changed);
    else this.toRemote({ kind: 'join', parent, lane: joinLane, child: child.path, value });
  }

  /**
   * Drops live twins from memory without writing anything (cluster mode: their vshard left
   * this node, or is about to be restored from its log; what memory holds of it must not
   * outlive the lease, nor shadow the restored state).
   */
  evict(paths: readonly string[]): void {
    this.step.reset(paths);
  }

  /** The `owns` rule answers differently now (cluster mode: a vshard came or went). */
  ownershipChanged(): void {
    this.directory.ownershipChanged();
  }

  isLocal(path: string): boolean {
    return this.directory.isLocal(path);
  }

  sendRemote(message: RemoteMessage): void {
    this.toRemote(message);
  }

  /** Out to the runtime now, or with the step's commit (ShardOptions.remoteAfterCommit). */
  private toRemote(message: RemoteMessage): void {
    if (this.options.remoteAfterCommit === true) this.step.holdRemote(message);
    else this.options.onRemote!(message);
  }

  armTimer(path: string, name: string, due: number): void {
    this.alarm.arm({ due, path, name });
  }

  onTurnError(error: TwinError, path: string): void {
    this.options.onTurnError?.(error, path);
  }

  /** Runs `fn` on the twin at `path` (starting it if needed) between turns; rejects with its TwinError. */
  call<R>(path: string, fn: (twin: Twin) => R): Promise<R> {
    const ticket = new Ticket<R>(1);
    try {
      this.enqueue({ kind: 'call', path, fn, ticket: ticket as Ticket });
    } catch (err) {
      return Promise.reject(err);
    }
    // One promise on top of the ticket's (not an async function's two): a read that
    // activates a stored twin is one of these.
    return ticket.promise.then(callResult);
  }

  /**
   * Starts every stored twin at or under `prefix` that is not live, reading the store
   * sequentially (`StateStore.scan`) in chunks of one step each: how an operator brings a
   * building back after a restart without waiting for traffic. Resolves with the count.
   */
  async warm(prefix: string): Promise<number> {
    let started = 0;
    let after: string | undefined;
    const owned = this.directory.ownsSubtree(prefix);
    for (;;) {
      const ticket = new Ticket<WarmChunk>(1);
      this.enqueue({ kind: 'warm', path: prefix, after, owned, ticket });
      await ticket.promise;
      const failure = ticket.rejected[0];
      if (failure) throw failure.error;
      const chunk = ticket.result!;
      started += chunk.started;
      if (chunk.done) return started;
      after = chunk.last;
    }
  }

  /**
   * A join update from a child on another shard: applied in this shard's next step. A
   * child is a path under its parent's (the catalog cuts the parent out of the child's
   * path, and join lanes store their keys relative to it); a message that breaks that
   * (a peer of another build, a bug) is dropped and counted, never applied.
   */
  acceptRemoteJoin(parent: string, joinLane: string, child: string, value: unknown): void {
    if (!isUnder(child, parent)) {
      this.foreignJoins.note({ parent, child, lane: joinLane });
      return;
    }
    this.joins.add(parent, joinLane, child, value);
    this.scheduleDrain();
  }

  // ---- internals ----------------------------------------------------------------

  /**
   * A start of a twin another shard owns was refused. Only a placement bug gets here (the
   * runtime routes everything to the owner), so it is an error; logged at powers of two so
   * a bug in a hot path cannot flood the log.
   */
  private refusedStart(path: string): void {
    const n = ++this.stats.startsRefused;
    if ((n & (n - 1)) === 0)
      this.log.error({ path, refused: n }, 'refused to start a twin this shard does not own (placement bug)');
  }

  private pendingWork(): number {
    return this.inbox.size;
  }

  /**
   * Runs for every event queued, so its callback ({@link scheduledDrain}) is made once.
   */
  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.scheduledDrain);
  }

  /** Registers an observer on a lane after sending it the lane's current state (run as a `call`). */
  static syncAndObserve(shard: Shard, twin: Twin, lane: string, observer: LaneObserver): void {
    const l = twin.lane(lane);
    if (!l)
      throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${twin.path} has no lane "${lane}"`, { path: twin.path, lane });
    for (const e of l.syncEvents()) observer.onEvent(e, twin.path);
    observer.onSynced?.();
    shard.observers.add(twin.path, lane, observer);
  }

  /**
   * Removes an exact-path observer. A twin that was only kept live for it (started
   * without state: see dropStateless) goes in the next step.
   */
  removeObserver(path: string, lane: string, observer: LaneObserver): void {
    if (this.observers.remove(path, lane, observer) && this.lifecycle.hasStateless && !this.closed)
      this.scheduleDrain();
  }

  /**
   * A link that started the twin at `path` closed: it stops (persisted, memory freed) in
   * the next step unless an exact link watches it by then. Wildcard links need no live twin:
   * one that starts later meets them when it announces.
   */
  release(path: string): void {
    if (!this.closed) this.enqueue({ kind: 'stop', path, ticket: null, released: true });
  }

  /**
   * Links a wildcard observer to the owned twins `filter` matches, sending each one's
   * state, without starting stored twins (see {@link FilterLinks}); rejects with
   * TWIN_TOO_MANY_TWINS, having done nothing, when it matches more than `limit`.
   */
  linkFilter(filter: PathFilter, lane: string, observer: LaneObserver, limit = Infinity): Promise<void> {
    return this.filterLinks.link(filter, lane, observer, limit);
  }

  unlinkFilter(observer: LaneObserver): void {
    this.filterLinks.unlink(observer);
  }

  /** Owned twins (live or stored) a filter matches, each once; at most `cap` + 1. */
  candidatePaths(filter: PathFilter, cap = Infinity): string[] {
    return this.directory.candidatePaths(filter, cap);
  }
}
