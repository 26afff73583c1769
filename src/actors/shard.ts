import { TwinError, toTwinError } from '../errors.js';
import type { LaneObserver } from '../lanes/events.js';
import { UnstorableWritesError, type StoredTwin } from '../store/state-store.js';
import { TwinPath, type PathFilter } from '../topology/index.js';
import type { Clock } from './clock.js';
import { DedupeWindow } from './dedupe.js';
import { GroupCommit } from './group-commit.js';
import { JoinBuffer } from './join-buffer.js';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import { FilterLinks } from './filter-links.js';
import { ObserverRegistry } from './observers.js';
import { ShardStats } from './stats.js';
import { ShardAlarm } from './shard-alarm.js';
import { TimerRecovery } from './timer-recovery.js';
import { Passivator } from './passivation.js';
import type { Twin } from './twin.js';
import { TwinDirectory } from './twin-directory.js';
import { TurnRunner, type TurnSink } from './turn-runner.js';
import { warmStep, type WarmTarget } from './warm.js';
import { Ticket, type WarmChunk, type Work } from './work.js';
import {
  JOIN_CAUSE, RUN_COMMAND, RUN_EVENT, RUN_HOOK, RUN_TIMER, START_CAUSE, STOP_CAUSE, type RemoteMessage, type ShardOptions,
} from './shard-options.js';

export type { ShardOptions, RemoteMessage } from './shard-options.js';

/** Join rounds per step: deeper than any sane hierarchy, shallow enough to stop a cycle. */
const MAX_JOIN_ROUNDS = 64;

/** Loads of one twin after damage its store set aside (a record, then its entries, and a spare). */
const MAX_CORRUPT_RELOADS = 3;

/**
 * A single-threaded owner of many twins. Work arrives in an inbox; a step processes it
 * in arrival order (one turn at a time, never two turns of a twin interleaved), then runs
 * the coalesced join updates level by level up the hierarchy, then hands the step's
 * writes to group commit. Everything a step does is synchronous, so the same inputs in
 * the same steps give the same state, on any thread.
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
  /** Twins whose state is loading, with the work that arrived meanwhile (in order). */
  private readonly loading = new Map<Twin, Work[]>();
  private inbox: Work[] = [];
  private inboxHead = 0;
  private readonly joins = new JoinBuffer();
  private readonly runner: TurnRunner;
  private readonly alarm: ShardAlarm;
  private readonly commit: GroupCommit;
  private stepTickets: Ticket[] = [];
  /** Events and commands the step accepted (reused): their tickets fail if the step's commit fails. */
  private readonly stepFinished: Extract<Work, { kind: 'event' | 'command' }>[] = [];
  private stepStopped: string[] = [];
  /** Twins started without stored state, until they have some (see dropStateless). */
  private stateless: Twin[] = [];
  private drainScheduled = false;
  /** The drain running now was started by the timer alarm (a clock callback). */
  private timerStep = false;
  private readonly journaling: boolean;
  private readonly warmTarget: WarmTarget;
  private draining = false;
  private closed = false;

  constructor(private readonly options: ShardOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.journaling = options.journal === true;
    this.runner = new TurnRunner(options.clock, options.log, this.stats, this.observers, this, this.journaling);
    this.directory = new TwinDirectory(options.catalog, options.store, this.runner, options.owns, (path) => this.refusedStart(path));
    this.twins = this.directory.live;
    this.filterLinks = new FilterLinks({
      directory: this.directory, observers: this.observers,
      load: (path) => this.loadStored(path),
      start: (path) => this.call(path, () => undefined).then(() => undefined, () => undefined),
      stop: (path) => this.release(path),
    });
    this.observers.onFilterDropped = (observer) => this.filterLinks.unlink(observer);
    this.warmTarget = { store: options.store, directory: this.directory, log: options.log, start: (twin, stored) => this.start(twin, stored) };
    this.timerRecovery = new TimerRecovery(options.store, options.clock, (path) => {
      // Only this shard's twins, and only those not live (a live twin has its timers armed).
      if (this.closed || this.twins.has(path) || !this.directory.isLocal(path)) return;
      this.call(path, () => undefined).catch((err) => this.log.warn({ path, err }, 'could not restore a twin with due timers'));
    });
    queueMicrotask(() => this.timerRecovery.start());
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
    this.commit = new GroupCommit(options.store, (outputs) => this.committed(outputs), (err, paths) => {
      this.log.error({ err, twins: paths.size }, 'state commit failed; its twins go back to their stored state');
      if (err.cause instanceof UnstorableWritesError) this.stats.unstorable += err.cause.paths.size;
      this.reset([...paths]);
    });
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

  /** Resolves when the inbox is empty, no twin is loading and every commit finished. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.pendingWork() === 0 && !this.drainScheduled && this.loading.size === 0 && this.joins.size === 0) {
        if (!this.commit.busy) return;
        await this.commit.idle();
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
      let budget = this.options.stepBudget ?? 50_000;
      while (this.inboxHead < this.inbox.length && budget-- > 0) {
        const work = this.inbox[this.inboxHead]!;
        this.inbox[this.inboxHead++] = undefined as unknown as Work;
        this.process(work);
      }
      if (this.inboxHead >= this.inbox.length) {
        this.inbox = [];
        this.inboxHead = 0;
      }
      for (let round = 0; this.joins.size > 0; round++) {
        if (round >= MAX_JOIN_ROUNDS) {
          this.log.error({ rounds: round }, 'join propagation did not settle; a join cycle between models?');
          this.joins.take();
          break;
        }
        for (const [parent, updates] of this.joins.take()) this.process({ kind: 'joins', path: parent, updates });
      }
      if (!this.closed) {
        this.dropStateless();
        // Not at the end of a timer step: on a simulated clock a twin stopped there could not
        // start again (its final write commits after clock.advance returns) when its own timer
        // comes due later in the same advance. The next ordinary step passivates instead.
        if (!this.timerStep) this.passivator.run(this.twins, (twin) => this.stopTwin(twin));
        else if (this.options.passivation) this.scheduleDrain();
      }
      this.flush();
    } finally {
      this.draining = false;
    }
    if (this.inboxHead < this.inbox.length) this.scheduleDrain();
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
  addJoin(child: Twin, joinLane: string, value: unknown): void {
    const parent = child.parent!;
    if (!child.parentRemote && this.directory.isLocal(parent)) this.joins.add(parent, joinLane, child.path, value);
    else this.options.onRemote!({ kind: 'join', parent, lane: joinLane, child: child.path, value });
  }

  isLocal(path: string): boolean {
    return this.directory.isLocal(path);
  }

  sendRemote(message: RemoteMessage): void {
    this.options.onRemote!(message);
  }

  armTimer(path: string, name: string, due: number): void {
    this.alarm.arm({ due, path, name });
  }

  onTurnError(error: TwinError, path: string): void {
    this.options.onTurnError?.(error, path);
  }

  /** Runs `fn` on the twin at `path` (starting it if needed) between turns; rejects with its TwinError. */
  async call<R>(path: string, fn: (twin: Twin) => R): Promise<R> {
    const ticket = new Ticket<R>(1);
    this.enqueue({ kind: 'call', path, fn, ticket: ticket as Ticket });
    await ticket.promise;
    const failure = ticket.rejected[0];
    if (failure) throw failure.error;
    return ticket.result as R;
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

  /** A join update from a child on another shard: applied in this shard's next step. */
  acceptRemoteJoin(parent: string, joinLane: string, child: string, value: unknown): void {
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
    if ((n & (n - 1)) === 0) this.log.error({ path, refused: n }, 'refused to start a twin this shard does not own (placement bug)');
  }

  private pendingWork(): number {
    return this.inbox.length - this.inboxHead;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private process(work: Work): void {
    if (work.kind === 'warm') {
      this.warmChunk(work);
      return;
    }
    if (work.kind === 'stop' && (!this.twins.has(work.path) || (work.released && this.observers.forPath(work.path) !== undefined))) {
      this.finish(work); // stopping a twin that is not live is already done; a released one an exact link watches stays
      return;
    }
    let twin: Twin | null;
    try {
      twin = this.activate(work);
    } catch (err) {
      this.finish(work, toTwinError(err));
      return;
    }
    if (!twin) return; // buffered until its state has loaded
    twin.lastActiveSec = (this.clock.now() / 1000) | 0;
    switch (work.kind) {
      case 'event': {
        this.stats.events++;
        const window = this.options.dedupeWindow ?? 8;
        const key = window > 0 ? DedupeWindow.hash(work.event.source, work.event.id) : 0;
        if (window > 0 && twin.isDuplicate(key)) {
          this.stats.duplicates++;
          this.finish(work); // its effect is already there: acknowledge, do nothing
          break;
        }
        if (this.journaling) this.runner.cause = { kind: 'event', id: work.event.id, source: work.event.source, type: work.event.type };
        const error = this.runner.runTurn(twin, RUN_EVENT, work.event);
        if (!error) {
          if (window > 0) {
            twin.remember(key, window);
            this.runner.markDirty(twin);
          }
          if (!twin.announced) this.runner.announce(twin);
        }
        this.finish(work, error);
        break;
      }
      case 'command': {
        this.stats.commands++;
        if (this.journaling) this.runner.cause = { kind: 'command', lane: work.lane };
        const error = this.runner.runTurn(twin, RUN_COMMAND, work.lane, work.value);
        if (!error && !twin.announced) this.runner.announce(twin);
        this.finish(work, error);
        break;
      }
      case 'timer':
        if (this.journaling) this.runner.cause = { kind: 'timer', name: work.name };
        if (!this.runner.runTurn(twin, RUN_TIMER, work.name, work.due) && !twin.announced) this.runner.announce(twin);
        break;
      case 'joins':
        if (this.journaling) this.runner.cause = JOIN_CAUSE;
        this.runner.applyJoins(twin, work.updates);
        if (!twin.announced) this.runner.announce(twin); // children with state make their parent real
        break;
      case 'call':
        try {
          work.ticket.result = work.fn(twin);
          this.finish(work);
        } catch (err) {
          this.finish(work, toTwinError(err));
        }
        break;
      case 'stop':
        this.stopTwin(twin);
        this.finish(work);
        break;
    }
  }

  /** Finds or starts the twin for a work item; null when the item was buffered. */
  private activate(work: Work): Twin | null {
    const existing = this.twins.get(work.path);
    if (existing) {
      if (existing.state === 'active') return existing;
      this.loading.get(existing)!.push(work);
      return null;
    }
    const path = TwinPath.parse(work.path);
    const twin = this.directory.create(path);
    this.twins.set(path.text, twin);
    let stored: ReturnType<TwinDirectory['load']>;
    try {
      stored = this.loadStored(path.text);
    } catch (err) {
      // Never leave a half-started twin behind: every later call would wait on it.
      this.twins.delete(path.text);
      this.finish(work, toTwinError(err, 'TWIN_STORE_FAILED'));
      return null;
    }
    if (!(stored instanceof Promise)) {
      try {
        return this.start(twin, stored); // a record its model cannot restore starts it fresh
      } catch (err) {
        // Never leave a half-started twin behind (see above); this call fails, the next tries again.
        this.twins.delete(path.text);
        this.finish(work, toTwinError(err, 'TWIN_STORE_FAILED'));
        return null;
      }
    }
    this.loading.set(twin, [work]);
    const fail = (err: unknown): void => {
      this.twins.delete(twin.path);
      const error = new TwinError('TWIN_STORE_FAILED', `loading ${twin.path} failed: ${(err as Error)?.message}`, undefined, { cause: err });
      for (const w of this.loading.get(twin) ?? []) this.finish(w, error);
      this.loading.delete(twin);
      this.flush();
    };
    stored.then(
      (s) => {
        if (this.closed) return;
        try {
          this.start(twin, s);
        } catch (err) {
          return fail(err);
        }
        const buffered = this.loading.get(twin) ?? [];
        this.loading.delete(twin);
        this.inbox.splice(this.inboxHead, 0, ...buffered);
        this.drain();
      },
      fail,
    );
    return null;
  }

  /**
   * A twin's stored state. A store that finds the bytes damaged moves them aside and throws
   * TWIN_RECORD_CORRUPT (issue 13.8): that is logged once and counted here, and the twin
   * starts from what is left (nothing, for a damaged record), so one bad record neither
   * fails every later call nor keeps the twin (and its parent's aggregates) from running.
   * Loading again may meet more damage (a bad record, then bad entries of the same twin):
   * each round moves some aside, so a few rounds end it; a store that keeps reporting the
   * same damage fails the call after {@link MAX_CORRUPT_RELOADS}.
   */
  private loadStored(path: string, reloads = 0): ReturnType<TwinDirectory['load']> {
    let stored: ReturnType<TwinDirectory['load']>;
    try {
      stored = this.directory.load(path);
    } catch (err) {
      return this.loadAfterCorrupt(path, err, reloads);
    }
    // (A twin whose last stop is still committing loads once that commit is readable.)
    return stored instanceof Promise ? stored.catch((err: unknown) => this.loadAfterCorrupt(path, err, reloads)) : stored;
  }

  private loadAfterCorrupt(path: string, err: unknown, reloads: number): ReturnType<TwinDirectory['load']> {
    if (!(err instanceof TwinError) || err.code !== 'TWIN_RECORD_CORRUPT' || reloads >= MAX_CORRUPT_RELOADS) throw err;
    this.noteCorrupt(path, err, 'a stored record did not decode');
    return this.loadStored(path, reloads + 1);
  }

  /** Counts and logs (once per record) stored state set aside as damaged. */
  private noteCorrupt(path: string, err: TwinError, what: string): void {
    this.stats.corruptRecords++;
    this.log.error({ code: err.code, path, quarantined: err.details?.quarantined, err: err.message },
      `TWIN_RECORD_CORRUPT: ${what}; its bytes are in the quarantine database and the twin continues without them (restore the twin's state from a backup or by sending its data again; see docs/persistence.md)`);
  }

  /** One warm step (see {@link warmStep}); its ticket gets what it did. */
  private warmChunk(work: Extract<Work, { kind: 'warm' }>): void {
    try {
      work.ticket.result = warmStep(this.warmTarget, work.path, work.after, work.owned);
      this.finish(work);
    } catch (err) {
      this.finish(work, toTwinError(err));
    }
  }

  /**
   * Restores and starts a twin (already in the live map); returns the twin that started.
   * A record that decodes but that its model cannot restore (a lane value of the wrong
   * type, a `migrate` that throws) is damage like bytes that do not decode: set aside,
   * counted, logged, and the twin starts fresh, as a new copy (the failed restore may have
   * filled some lanes). Failing the call instead would fail every call of the twin forever.
   */
  private start(twin: Twin, stored: StoredTwin | undefined): Twin {
    if (stored) {
      try {
        twin.restore(stored);
      } catch (err) {
        this.setAsideUnrestorable(twin.path, err);
        twin = this.directory.create(TwinPath.parse(twin.path));
        this.twins.set(twin.path, twin);
        stored = undefined;
      }
    }
    twin.state = 'active';
    this.stats.started++;
    const onStart = twin.definition.def.onStart;
    if (this.journaling) this.runner.cause = START_CAUSE;
    const error = this.runner.runTurn(twin, RUN_HOOK, onStart);
    if (error) this.log.warn({ path: twin.path, err: error }, 'onStart failed');
    if (stored) this.runner.announce(twin); // a new twin announces after its first input turn (see Twin.announced)
    else this.stateless.push(twin);
    return twin;
  }

  /** A stored record its model cannot restore: moved aside by the store (when it can) and reported. */
  private setAsideUnrestorable(path: string, cause: unknown): void {
    let quarantined: string[] | undefined;
    try {
      quarantined = this.options.store.quarantine?.(path, cause);
    } catch (err) {
      this.log.error({ path, err }, 'a stored record that cannot be restored could not be moved aside; the twin starts fresh and its first write replaces it');
    }
    const error = new TwinError('TWIN_RECORD_CORRUPT',
      `the stored state of ${path} cannot be restored by its model (${(cause as Error)?.message ?? String(cause)})`, { path, quarantined }, { cause });
    this.noteCorrupt(path, error, 'a stored record could not be restored by its model');
  }

  /**
   * Stops the twins started this step that still have no state (only read, or their input
   * was rejected): any routed path can be read, and keeping each such twin live would let
   * reads of made-up paths fill memory. One with a link or a timer stays until it has none.
   */
  private dropStateless(): void {
    if (this.stateless.length === 0) return;
    const keep: Twin[] = [];
    for (const twin of this.stateless) {
      if (twin.announced || twin.state !== 'active' || this.twins.get(twin.path) !== twin) continue;
      if (this.observers.forPath(twin.path) !== undefined || twin.hasTimers) keep.push(twin);
      else this.stopTwin(twin);
    }
    this.stateless = keep;
  }

  private stopTwin(twin: Twin): void {
    const onStop = twin.definition.def.onStop;
    if (this.journaling) this.runner.cause = STOP_CAUSE;
    const error = this.runner.runTurn(twin, RUN_HOOK, onStop);
    if (error) this.log.warn({ path: twin.path, err: error }, 'onStop failed');
    twin.state = 'stopped';
    this.twins.delete(twin.path);
    this.runner.markDirty(twin);
    this.stepStopped.push(twin.path);
    this.stats.stopped++;
  }

  private finish(work: Work, error?: TwinError): void {
    if (error && work.kind !== 'joins') this.log.debug({ path: work.path, code: error.code, err: error.message }, 'work rejected');
    if (!('ticket' in work) || !work.ticket) return;
    const ticket = work.ticket as Ticket;
    if (!error && (work.kind === 'event' || work.kind === 'command')) this.stepFinished.push(work);
    ticket.done('index' in work ? work.index : 0, error);
    if (ticket.complete) this.stepTickets.push(ticket);
  }

  /** Hands the step's writes, finished tickets and outputs to group commit. */
  private flush(): void {
    const writes = this.runner.takeWrites();
    this.stats.writes += writes.length;
    const stopped = this.stepStopped;
    this.commit.submit(writes, this.stepTickets, this.runner.takeOutputs(), touchedTickets(this.stepFinished));
    if (stopped.length > 0) this.holdStopped(stopped);
    this.stepTickets = [];
    this.stepFinished.length = 0;
    this.stepStopped = [];
  }

  /**
   * Twins stopped this step may start again only once their final writes are readable:
   * after this step's commit settles, and, for a store that acknowledges before it commits
   * (relaxed LMDB), once it says they are visible. Released in the commit's own turn when
   * the store needs no wait, so a simulated clock advanced right after sees them free.
   */
  private holdStopped(stopped: string[]): void {
    let release!: () => void;
    const readable = new Promise<void>((resolve) => (release = resolve));
    this.directory.stopped(stopped, readable);
    this.commit.whenSettled(() => {
      const done = (): void => {
        this.directory.released(stopped, readable);
        release();
      };
      const visible = this.options.store.visible?.();
      if (visible) visible.then(done, done);
      else done();
    });
  }

  /**
   * Drops live twins from memory without a write, so they start again from what the store
   * holds: memory and disk agree again after their state could not be stored or a commit
   * holding their writes failed. A restart waits until the commits in flight settled.
   */
  private reset(paths: readonly string[]): void {
    const dropped: string[] = [];
    for (const path of paths) {
      const twin = this.twins.get(path);
      if (!twin || twin.state !== 'active') continue;
      twin.state = 'stopped';
      this.twins.delete(path);
      dropped.push(path);
    }
    if (dropped.length > 0) this.holdStopped(dropped);
  }

  private committed(outputs: DerivedEvent[]): void {
    this.stats.outputs += outputs.length;
    const sink = this.options.onOutput;
    if (!sink) return;
    for (const e of outputs) {
      try {
        sink(e);
      } catch (err) {
        this.log.error({ err, type: e.type }, 'output sink threw');
      }
    }
  }

  /** Registers an observer on a lane after sending it the lane's current state (run as a `call`). */
  static syncAndObserve(shard: Shard, twin: Twin, lane: string, observer: LaneObserver): void {
    const l = twin.lane(lane);
    if (!l) throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${twin.path} has no lane "${lane}"`, { path: twin.path, lane });
    for (const e of l.syncEvents()) observer.onEvent(e, twin.path);
    observer.onSynced?.();
    shard.observers.add(twin.path, lane, observer);
  }

  /**
   * Removes an exact-path observer. A twin that was only kept live for it (started
   * without state: see dropStateless) goes in the next step.
   */
  removeObserver(path: string, lane: string, observer: LaneObserver): void {
    if (this.observers.remove(path, lane, observer) && this.stateless.length > 0 && !this.closed) this.scheduleDrain();
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

/** The tickets of a step's accepted items, once each (a batch's items are consecutive). */
function touchedTickets(items: readonly { ticket: Ticket | null }[]): Ticket[] {
  const out: Ticket[] = [];
  let last: Ticket | null = null;
  for (const w of items) {
    if (w.ticket === null || w.ticket === last) continue;
    last = w.ticket;
    out.push(w.ticket);
  }
  return out;
}
