import { TwinError, toTwinError } from '../errors.js';
import { jsonEquals, type JoinLane, type JournalCause, type JournalEntry, type Lane, type LaneObserver, type StateWrite, type StoredTwin } from '../lanes/index.js';
import { TwinPath, type PathFilter } from '../topology/index.js';
import type { Clock } from './clock.js';
import { DedupeWindow } from './dedupe.js';
import { GroupCommit } from './group-commit.js';
import { JoinBuffer, type JoinUpdates } from './join-buffer.js';
import type { DerivedEvent, TwinLogger } from './model.js';
import { ObserverRegistry } from './observers.js';
import { ShardStats } from './stats.js';
import { ShardAlarm } from './shard-alarm.js';
import { TimerRecovery } from './timer-recovery.js';
import { Passivator } from './passivation.js';
import { Twin, type TurnEnv } from './twin.js';
import { CommitReads, READ_FAILED } from './commit-reads.js';
import { loadEach, WARM_CHUNK } from './warm.js';
import { journalChanges, TurnLog } from './turn-log.js';
import { Ticket, type WarmChunk, type Work } from './work.js';
import {
  JOIN_CAUSE, RUN_COMMAND, RUN_EVENT, RUN_HOOK, RUN_TIMER, START_CAUSE, STOP_CAUSE, type ShardOptions, type TurnBody,
} from './shard-options.js';

export type { ShardOptions, RemoteMessage } from './shard-options.js';

/** Turn body of a parent's join updates: all of them (`only` -1) or the one at `only`. */
const APPLY_JOINS = (twin: Twin, updates: JoinUpdates, only: number): void => {
  const from = only < 0 ? 0 : only;
  const to = only < 0 ? updates.length : only + 1;
  for (let i = from; i < to; i++) {
    const join = twin.lanes[updates.lanes[i]!] as JoinLane<unknown> | undefined;
    join?.accept(updates.children[i]!, updates.values[i]);
  }
};

/** Join rounds per step: deeper than any sane hierarchy, shallow enough to stop a cycle. */
const MAX_JOIN_ROUNDS = 64;

/**
 * A single-threaded owner of many twins. Work arrives in an inbox; a step processes it
 * in arrival order (one turn at a time, never two turns of a twin interleaved), then runs
 * the coalesced join updates level by level up the hierarchy, then hands the step's
 * writes to group commit. Everything a step does is synchronous, so the same inputs in
 * the same steps give the same state, on any thread.
 */
export class Shard implements TurnEnv {
  readonly clock: Clock;
  readonly log: TwinLogger;
  readonly stats = new ShardStats();
  readonly observers = new ObserverRegistry();
  private readonly twins = new Map<string, Twin>();
  private readonly parents = new Map<string, string>();
  private readonly ownership = new Map<string, boolean>();
  private readonly timerRecovery: TimerRecovery;
  private readonly passivator: Passivator;
  /** Twins whose state is loading, with the work that arrived meanwhile (in order). */
  private readonly loading = new Map<Twin, Work[]>();
  private inbox: Work[] = [];
  private inboxHead = 0;
  private readonly joins = new JoinBuffer();
  private readonly turn = new TurnLog();
  private readonly alarm: ShardAlarm;
  private readonly commit: GroupCommit;
  private readonly reads: CommitReads;
  private stepTickets: Ticket[] = [];
  private stepOutputs: DerivedEvent[] = [];
  private stepStopped: string[] = [];
  private dirty: Twin[] = [];
  /** Stopped twins whose final writes are not committed yet: a restart must wait for them. */
  private readonly stopping = new Map<string, Promise<void>>();
  private drainScheduled = false;
  private readonly journaling: boolean;
  /** What caused the turn about to run (journaling only). */
  private cause: JournalCause = JOIN_CAUSE;
  private journalSeq = 0;
  private stepJournal: StateWrite[] = [];
  private draining = false;
  private closed = false;

  constructor(private readonly options: ShardOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.journaling = options.journal === true;
    this.reads = new CommitReads(this.stats, options.log);
    this.timerRecovery = new TimerRecovery(options.store, options.clock, (path) => {
      // Only this shard's twins, and only those not live (a live twin has its timers armed).
      if (this.closed || this.twins.has(path) || !this.isLocal(path)) return;
      this.call(path, () => undefined).catch((err) => this.log.warn({ path, err }, 'could not restore a twin with due timers'));
    });
    queueMicrotask(() => this.timerRecovery.start());
    this.alarm = new ShardAlarm(options.clock, (due) => {
      for (const e of due) this.inbox.push({ kind: 'timer', path: e.path, name: e.name, due: e.due });
      this.drain(); // now, synchronously: on a simulated clock every timer's turn sees its own time
    });
    this.passivator = new Passivator(options.passivation, options.clock, () => this.drain());
    this.commit = new GroupCommit(options.store, (outputs, stopped) => this.committed(outputs, stopped), (err) => {
      this.log.error({ err }, 'state commit failed');
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
      if (!this.closed) this.passivator.run(this.twins, (twin) => this.stopTwin(twin));
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

  // ---- TurnEnv (called by twins during a turn) ----------------------------------

  noteChange(_twin: Twin, lane: Lane, key: string | undefined, old: unknown, existed: boolean): void {
    this.turn.note(lane, key, old, existed);
  }

  emit(twin: Twin, type: string, data: unknown, subject: string): void {
    const now = this.clock.now();
    const n = this.turn.emits.length;
    this.turn.emits.push({
      specversion: '1.0', id: `${twin.path}#${type}@${now}${n > 0 ? '.' + n : ''}`, source: twin.path, type, subject,
      time: new Date(now).toISOString(), datacontenttype: 'application/json', data,
    });
  }

  sendCommand(_from: Twin, path: string, lane: string, value: unknown): void {
    const target = TwinPath.parse(path).text;
    if (!this.isLocal(target)) {
      this.options.onRemote!({ kind: 'command', path: target, lane, value });
      return;
    }
    this.turn.commands.push({ kind: 'command', path: target, lane, value, ticket: null, index: 0 });
  }

  armTimer(path: string, name: string, due: number): void {
    this.alarm.arm({ due, path, name });
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
    for (;;) {
      const ticket = new Ticket<WarmChunk>(1);
      this.enqueue({ kind: 'warm', path: prefix, after, ticket });
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

  /** Ownership of a path, cached: parents are few and asked about on every change. */
  private isLocal(path: string): boolean {
    const owns = this.options.owns;
    if (!owns) return true;
    let local = this.ownership.get(path);
    if (local === undefined) {
      if (this.ownership.size >= 100_000) this.ownership.clear();
      this.ownership.set(path, (local = owns(path)));
    }
    return local;
  }

  private addJoin(child: Twin, joinLane: string, value: unknown): void {
    const parent = child.parent!;
    if (!child.parentRemote && this.isLocal(parent)) this.joins.add(parent, joinLane, child.path, value);
    else this.options.onRemote!({ kind: 'join', parent, lane: joinLane, child: child.path, value });
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
    if (work.kind === 'stop' && !this.twins.has(work.path)) {
      this.finish(work); // stopping a twin that is not live is already done
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
        if (this.journaling) this.cause = { kind: 'event', id: work.event.id, source: work.event.source, type: work.event.type };
        const error = this.runTurn(twin, RUN_EVENT, work.event);
        if (!error && window > 0) {
          twin.remember(key, window);
          this.markDirty(twin);
        }
        this.finish(work, error);
        break;
      }
      case 'command':
        this.stats.commands++;
        if (this.journaling) this.cause = { kind: 'command', lane: work.lane };
        this.finish(work, this.runTurn(twin, RUN_COMMAND, work.lane, work.value));
        break;
      case 'timer':
        if (this.journaling) this.cause = { kind: 'timer', name: work.name };
        this.runTurn(twin, RUN_TIMER, work.name, work.due);
        break;
      case 'joins':
        if (this.journaling) this.cause = JOIN_CAUSE;
        this.applyJoins(twin, work.updates);
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
    const twin = this.createTwin(path);
    this.twins.set(path.text, twin);
    const previous = this.stopping.get(path.text);
    const stored = previous ? previous.then(() => this.options.store.load(path.text)) : this.options.store.load(path.text);
    if (!(stored instanceof Promise)) {
      this.start(twin, stored);
      return twin;
    }
    this.loading.set(twin, [work]);
    stored.then(
      (s) => {
        if (this.closed) return;
        const buffered = this.loading.get(twin) ?? [];
        this.loading.delete(twin);
        this.start(twin, s);
        this.inbox.splice(this.inboxHead, 0, ...buffered);
        this.drain();
      },
      (err: unknown) => {
        this.twins.delete(twin.path);
        const error = new TwinError('TWIN_STORE_FAILED', `loading ${twin.path} failed: ${(err as Error)?.message}`, undefined, { cause: err });
        for (const w of this.loading.get(twin) ?? []) this.finish(w, error);
        this.loading.delete(twin);
        this.flush();
      },
    );
    return null;
  }

  /**
   * A new, not yet started twin for a path, linked to its parent. For a path no route
   * matches: throws, or returns null when `required` is false (stored data of a model
   * that was removed).
   */
  private createTwin(path: TwinPath): Twin;
  private createTwin(path: TwinPath, required: false): Twin | null;
  private createTwin(path: TwinPath, required = true): Twin | null {
    const model = this.options.catalog.modelOf(path);
    if (!model) {
      if (!required) return null;
      throw new TwinError('TWIN_NO_ROUTE', `no model is routed to ${path.text}`, { path: path.text });
    }
    const twin = new Twin(path.text, model, this);
    const parent = this.options.catalog.parentOf(path);
    if (parent) {
      twin.parent = this.intern(parent.path);
      // With several shards, joins to a parent under another shard key always travel as
      // messages, even when this shard owns it: one rule, so results cannot depend on
      // which worker happens to own what.
      twin.parentRemote = this.options.owns !== undefined &&
        this.options.catalog.shardKey(path, model) !== this.options.catalog.shardKey(TwinPath.parse(parent.path), parent.model);
      twin.upJoins = this.options.catalog.upJoins(model, parent.model);
    }
    return twin;
  }

  /**
   * One warm step: starts up to a chunk of stored twins in path order. Twins that are live,
   * still committing their final writes, owned by another shard or of no model are skipped.
   */
  private warmChunk(work: Extract<Work, { kind: 'warm' }>): void {
    const store = this.options.store;
    const chunk: WarmChunk = { started: 0, last: undefined, done: true };
    try {
      let scanned = 0;
      const stored = store.scan ? store.scan(work.path, work.after) : loadEach(store, work.path, work.after);
      for (const [path, twinState] of stored) {
        chunk.last = path;
        if (!this.twins.has(path) && !this.stopping.has(path) && this.isLocal(path)) {
          const twin = this.warmTwin(path);
          if (twin) {
            this.twins.set(path, twin);
            this.start(twin, twinState);
            chunk.started++;
          }
        }
        if (++scanned >= WARM_CHUNK) {
          chunk.done = false;
          break;
        }
      }
      work.ticket.result = chunk;
      this.finish(work);
    } catch (err) {
      this.finish(work, toTwinError(err));
    }
  }

  /** A twin for a stored path, or null (logged) for a key that is no valid path or of no model any more. */
  private warmTwin(path: string): Twin | null {
    try {
      return this.createTwin(TwinPath.parse(path), false);
    } catch (err) {
      this.log.warn({ path, err }, 'stored state under an invalid path skipped while warming');
      return null;
    }
  }

  /**
   * One string per parent path, shared by all its children (a room's four sensors would
   * otherwise each hold their own copy). Bounded: cleared when it grows past its limit.
   */
  private intern(path: string): string {
    const live = this.twins.get(path);
    if (live) return live.path;
    const known = this.parents.get(path);
    if (known !== undefined) return known;
    if (this.parents.size >= 100_000) this.parents.clear();
    this.parents.set(path, path);
    return path;
  }

  private start(twin: Twin, stored: StoredTwin | undefined): void {
    if (stored) twin.restore(stored);
    twin.state = 'active';
    this.stats.started++;
    const onStart = twin.definition.def.onStart;
    if (this.journaling) this.cause = START_CAUSE;
    const error = this.runTurn(twin, RUN_HOOK, onStart);
    if (error) this.log.warn({ path: twin.path, err: error }, 'onStart failed');
    this.announce(twin);
    this.syncFilters(twin);
  }

  /** A started child tells its parent the current value of every lane the parent joins. */
  private announce(twin: Twin): void {
    const joins = twin.upJoins;
    if (!joins || !twin.parent) return;
    const names = twin.definition.laneNames;
    for (let i = 0; i < joins.length; i++) {
      const targets = joins[i];
      if (!targets) continue;
      const value = this.reads.laneValue(twin, twin.lanes[names[i]!]!);
      for (const t of targets) {
        const projected = t.project ? this.reads.project(twin, t, value) : value;
        if (projected !== READ_FAILED) this.addJoin(twin, t.lane, projected);
      }
    }
  }

  private stopTwin(twin: Twin): void {
    const onStop = twin.definition.def.onStop;
    if (this.journaling) this.cause = STOP_CAUSE;
    const error = this.runTurn(twin, RUN_HOOK, onStop);
    if (error) this.log.warn({ path: twin.path, err: error }, 'onStop failed');
    twin.state = 'stopped';
    this.twins.delete(twin.path);
    this.markDirty(twin);
    this.stepStopped.push(twin.path);
    this.stats.stopped++;
  }

  /** Runs `body` as one turn of `twin`: all its changes commit together or roll back together. */
  private runTurn<A, B>(twin: Twin, body: TurnBody<A, B>, a?: A, b?: B): TwinError | undefined {
    const turn = this.turn;
    const sampled = (this.stats.turns & 15) === 0; // time 1 turn in 16: cheap enough to leave on
    const t0 = sampled ? performance.now() : 0;
    turn.begin();
    try {
      body(twin, a as A, b as B);
      twin.settleHooks();
    } catch (err) {
      twin.abortTurn();
      turn.rollback();
      const error = toTwinError(err);
      this.stats.turnFailures++;
      if (error.code === 'TWIN_TURN_FAILED') {
        this.log.warn({ path: twin.path, model: twin.model, err }, 'turn failed and was rolled back');
        this.options.onTurnError?.(error, twin.path);
      }
      return error;
    }
    this.stats.turns++;
    this.commitTurn(twin);
    if (sampled) this.stats.turnLatency.record((performance.now() - t0) * 1e6);
    return undefined;
  }

  private commitTurn(twin: Twin): void {
    const turn = this.turn;
    const watched = this.observers.size > 0;
    const observed = watched ? this.observers.forPath(twin.path) : undefined;
    const filtered = watched && this.observers.filterCount > 0 ? this.filterMatches(twin) : null;
    const joins = twin.parent ? twin.upJoins : undefined;
    if (this.journaling && turn.length > 0) this.journalTurn(twin);
    for (let i = 0; i < turn.length; i++) {
      const lane = turn.lane(i);
      if (turn.isRepeat(i)) continue;
      if (lane.persistent) {
        this.markDirty(twin);
        twin.laneChanged(lane.index);
      }
      if (watched) {
        const exact = observed?.get(lane.name);
        const wild = filtered?.get(lane.name);
        if (exact || wild) {
          const event = this.reads.laneEvent(twin, lane, turn.key(i)); // built once, shared by every observer
          if (event !== READ_FAILED) {
            if (exact) this.observers.deliver(exact, event, twin.path);
            if (wild) this.observers.deliver(wild, event, twin.path);
          }
        }
      }
      const targets = joins?.[lane.index];
      if (targets) {
        const value = this.reads.laneValue(twin, lane);
        for (const t of targets) {
          if (!t.project) {
            if (value !== READ_FAILED) this.addJoin(twin, t.lane, value);
            continue;
          }
          // The first log entry of a lane holds its value from before the turn.
          const next = this.reads.project(twin, t, value);
          if (next !== READ_FAILED && !jsonEquals(this.reads.project(twin, t, turn.old(i)), next)) this.addJoin(twin, t.lane, next);
        }
      }
    }
    turn.afterCommit();
    if (twin.timersChanged) this.markDirty(twin);
    for (const e of turn.emits) this.stepOutputs.push(e);
    for (const c of turn.commands) this.inbox.push(c);
    turn.begin();
  }

  /** Appends the turn's persistent lane changes to this step's journal writes. */
  private journalTurn(twin: Twin): void {
    const changes = journalChanges(this.turn);
    if (changes.length === 0) return;
    const entry: JournalEntry = { path: twin.path, time: this.clock.now(), seq: ++this.journalSeq, cause: this.cause, changes };
    this.stepJournal.push({ op: 'journal', path: twin.path, entry });
  }

  private filterMatches(twin: Twin): Map<string, LaneObserver[]> | null {
    twin.filterCache = this.observers.filterMatches(() => TwinPath.parse(twin.path), twin.filterCache);
    return twin.filterCache.byLane;
  }

  /** A twin that starts while wildcard links match it sends them its state. */
  private syncFilters(twin: Twin): void {
    if (this.observers.filterCount === 0) return;
    const matches = this.filterMatches(twin);
    if (!matches) return;
    for (const [lane, observers] of matches) {
      const l = twin.lanes[lane];
      if (!l) continue;
      for (const event of l.syncEvents()) this.observers.deliver(observers, event, twin.path);
    }
  }

  /** Applies a parent's coalesced join updates in one turn; if that fails, one turn per update. */
  private applyJoins(twin: Twin, updates: JoinUpdates): void {
    if (!this.runTurn(twin, APPLY_JOINS, updates, -1)) return;
    for (let i = 0; i < updates.length; i++) this.runTurn(twin, APPLY_JOINS, updates, i);
  }

  private markDirty(twin: Twin): void {
    if (twin.dirty) return;
    twin.dirty = true;
    this.dirty.push(twin);
  }

  private finish(work: Work, error?: TwinError): void {
    if (error && work.kind !== 'joins') this.log.debug({ path: work.path, code: error.code, err: error.message }, 'work rejected');
    if (!('ticket' in work) || !work.ticket) return;
    const ticket = work.ticket as Ticket;
    ticket.done('index' in work ? work.index : 0, error);
    if (ticket.complete) this.stepTickets.push(ticket);
  }

  /** Hands the step's writes, finished tickets and outputs to group commit. */
  private flush(): void {
    const writes: StateWrite[] = [];
    for (const twin of this.dirty) {
      twin.dirty = false;
      twin.collectWrites(writes);
    }
    this.dirty = [];
    if (this.stepJournal.length > 0) {
      for (const j of this.stepJournal) writes.push(j);
      this.stepJournal = [];
    }
    this.stats.writes += writes.length;
    const stopped = this.stepStopped;
    this.commit.submit(writes, this.stepTickets, this.stepOutputs, stopped);
    if (stopped.length > 0) {
      const committed = this.commit.idle();
      for (const path of stopped) this.stopping.set(path, committed);
    }
    this.stepTickets = [];
    this.stepOutputs = [];
    this.stepStopped = [];
  }

  private committed(outputs: DerivedEvent[], stopped: string[]): void {
    for (const path of stopped) this.stopping.delete(path);
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
    const l = twin.lanes[lane];
    if (!l) throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${twin.path} has no lane "${lane}"`, { path: twin.path, lane });
    for (const e of l.syncEvents()) observer.onEvent(e, twin.path);
    observer.onSynced?.();
    shard.observers.add(twin.path, lane, observer);
  }

  /** Paths of live twins and of stored twins that a filter could match. */
  candidatePaths(filter: PathFilter): string[] {
    const prefix = filter.literalPrefix?.text ?? '';
    const out = new Set<string>();
    for (const path of this.twins.keys()) if (prefix === '' || path === prefix || path.startsWith(prefix + '/')) out.add(path);
    for (const path of this.options.store.list(prefix)) out.add(path);
    return [...out].filter((p) => filter.matches(TwinPath.parse(p)));
  }
}
