import { toTwinError, TwinError } from '../errors.js';
import { jsonEquals } from '../lanes/equality.js';
import { toWireJs } from '../protocol/wire-js.js';
import type { LaneObserver } from '../lanes/events.js';
import type { JoinLane } from '../lanes/join-lane.js';
import type { Lane } from '../lanes/lane.js';
import type { JournalCause, JournalEntry, LiveRecords, StateWrite } from '../store/state-store.js';
import { TwinPath } from '../topology/index.js';
import type { Clock } from './clock.js';
import { CommitReads, READ_FAILED } from './commit-reads.js';
import type { JoinUpdates } from './join-buffer.js';
import { ThrottledWarning } from '../logger.js';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import type { ObserverRegistry } from './observers.js';
import { JOIN_CAUSE, RUN_HOOK, type RemoteMessage, type TurnBody } from './shard-options.js';
import type { ShardStats } from './stats.js';
import { journalChanges, TurnLog } from './turn-log.js';
import { TURN_OF, type Twin, type TurnEnv } from './twin.js';
import type { Work } from './work.js';

/** Turn body of a parent's join updates: all of them (`only` -1) or the one at `only`. */
const APPLY_JOINS = (twin: Twin, updates: JoinUpdates, only: number): void => {
  const from = only < 0 ? 0 : only;
  const to = only < 0 ? updates.length : only + 1;
  for (let i = from; i < to; i++) {
    const join = twin.lanes[updates.lane(i)] as JoinLane<unknown> | undefined;
    join?.accept(updates.child(i), updates.value(i));
  }
};

/** True when every update equals the entry its join lane holds: applying them changes nothing. */
function holdsAll(twin: Twin, updates: JoinUpdates): boolean {
  for (let i = 0; i < updates.length; i++) {
    const join = twin.lanes[updates.lane(i)] as JoinLane<unknown> | undefined;
    if (join !== undefined && (join.kind !== 'join' || !join.holds(updates.child(i), updates.value(i)))) return false;
  }
  return true;
}

/** Where a committed turn's consequences go: the shard's inbox, its join buffer, other shards. */
export interface TurnSink {
  /** Work for a twin of this shard (a command one twin sent another), run later in this step. */
  enqueueLocal(work: Work): void;
  /**
   * A child's lane value for its parent's join (buffered per parent, or sent to its shard).
   * `changed`: sent by a commit because the value changed, not by the child's announce.
   */
  addJoin(child: Twin, joinLane: string, value: unknown, changed: boolean): void;
  isLocal(path: string): boolean;
  sendRemote(message: RemoteMessage): void;
  armTimer(path: string, name: string, due: number): void;
  onTurnError?(error: TwinError, path: string): void;
}

/** Values a derived event's data may hold (see toWireJs): what a `/signals` reader or webhook could be sent. */
const MAX_EMIT_VALUES = 1_000_000;

/** At most one "turn failed" line per this many ms (see {@link TurnRunner.failures}). */
const FAILURE_LOG_MS = 10_000;

/**
 * Runs turns and commits their effects: a turn's lane changes, emitted events and sent
 * commands are logged while its body runs, then either rolled back together (the body
 * threw) or committed together: observers get the changes, parents their join values,
 * and the twin joins the step's dirty list for the next write. It is every twin's
 * {@link TurnEnv}.
 */
export class TurnRunner implements TurnEnv {
  /** What caused the turn about to run (read only when journaling). */
  cause: JournalCause = JOIN_CAUSE;
  /** The store's holder of live records, when it has one (see StateStore.liveRecords). */
  liveRecords: LiveRecords | undefined = undefined;
  private readonly turn = new TurnLog();
  private readonly reads: CommitReads;
  /**
   * Twins to write at the end of the step, in slots 0 … dirtyCount-1. Reused step after
   * step, so it keeps its capacity: a fresh list grew by doubling to thousands each step.
   */
  private readonly dirty: (Twin | null)[] = [];
  private dirtyCount = 0;
  private outputs: DerivedEvent[] = [];
  private journal: StateWrite[] = [];
  private journalSeq = 0;
  /**
   * A model that throws on every event (or a parent whose join entry cannot be stored) fails
   * a turn per event: one line per 10 s says so, with the count (`stats.turnFailures` and
   * `onTurnError` see every one).
   */
  private readonly failures: ThrottledWarning;
  /** Sliding windows past their `maxSamples` (a source faster than the model expected). */
  private readonly dropped: ThrottledWarning;

  constructor(
    readonly clock: Clock,
    readonly log: TwinLogger,
    private readonly stats: ShardStats,
    private readonly observers: ObserverRegistry,
    private readonly sink: TurnSink,
    readonly journaling: boolean,
  ) {
    this.reads = new CommitReads(stats, log);
    this.failures = new ThrottledWarning(log, 'turn failed and was rolled back', FAILURE_LOG_MS, 'failures');
    this.dropped = new ThrottledWarning(
      log,
      'sliding window past its maxSamples: the oldest samples left early (a source faster than the window is sized for)',
      FAILURE_LOG_MS,
      'dropped',
    );
  }

  // ---- TurnEnv (called by twins during a turn) ----------------------------------

  noteChange(_twin: Twin, lane: Lane, key: string | undefined, old: unknown, existed: boolean): void {
    this.turn.note(lane, key, old, existed);
  }

  samplesDropped(twin: Twin, lane: Lane, count: number): void {
    this.dropped.note({ path: twin.path, lane: lane.name }, undefined, count);
  }

  emit(twin: Twin, type: string, data: unknown, subject: string): void {
    const now = this.clock.now();
    const n = this.turn.emits.length;
    this.turn.emits.push({
      specversion: '1.0',
      id: `${twin.path}#${type}@${now}${n > 0 ? '.' + n : ''}`,
      source: twin.path,
      type,
      subject,
      time: new Date(now).toISOString(),
      datacontenttype: 'application/json',
      // As JSON can carry it (a Map would be `{}` to every webhook, broker and /signals reader);
      // bounded, as nothing else checks a model's event data (past it the turn fails).
      data: toWireJs(data, 'base64', MAX_EMIT_VALUES),
    });
  }

  /** Queued with the turn: sent (to this shard's inbox or another's) only if the turn commits. */
  sendCommand(_from: Twin, path: string, lane: string, value: unknown): void {
    const target = TwinPath.parse(path).text;
    this.turn.commands.push({ kind: 'command', path: target, lane, value, ticket: null, index: 0 });
  }

  armTimer(path: string, name: string, due: number): void {
    this.sink.armTimer(path, name, due);
  }

  // ---- turns ----------------------------------------------------------------------

  /** Runs `body` as one turn of `twin`: all its changes commit together or roll back together. */
  runTurn<A, B>(twin: Twin, body: TurnBody<A, B>, a?: A, b?: B): TwinError | undefined {
    const turn = this.turn;
    const sampled = (this.stats.turns & 15) === 0; // time 1 turn in 16: cheap enough to leave on
    const t0 = sampled ? performance.now() : 0;
    const outer = TURN_OF.twin;
    TURN_OF.twin = twin;
    turn.begin();
    try {
      body(twin, a as A, b as B);
      twin.settleHooks();
    } catch (err) {
      twin.abortTurn();
      turn.rollback();
      TURN_OF.twin = outer;
      let error = toTwinError(err);
      // `reject()` (model/reject.ts) cannot know the twin; its answer names it like ctx.reject's does.
      if (error.code === 'TWIN_PAYLOAD_REJECTED' && error.details === undefined)
        error = new TwinError(error.code, error.message, { path: twin.path });
      this.stats.turnFailures++;
      if (error.code === 'TWIN_STATE_UNSTORABLE') this.stats.unstorable++; // a lane refused what the model set (see assertStorable)
      if (error.code === 'TWIN_TURN_FAILED' || error.code === 'TWIN_STATE_UNSTORABLE') {
        this.failures.note({ path: twin.path, model: twin.model, err });
        this.sink.onTurnError?.(error, twin.path);
      }
      return error;
    }
    this.stats.turns++;
    try {
      this.commitTurn(twin, body !== (RUN_HOOK as unknown));
    } finally {
      TURN_OF.twin = outer;
    }
    if (sampled) this.stats.turnLatency.record((performance.now() - t0) * 1e6);
    return undefined;
  }

  /** Applies a parent's coalesced join updates in one turn; if that fails, one turn per update. */
  applyJoins(twin: Twin, updates: JoinUpdates): void {
    // Values the parent holds already (a restored child announcing what the parent's stored
    // join entries say) would change nothing: no turn (so nothing to log, hook or commit).
    // Only a batch an announce or another shard filled is checked: a commit sends a value
    // because it changed, and should the parent hold it anyway, the join lanes' own equality
    // makes that turn change nothing; the check would cost an equality per batch for nothing.
    if (updates.mayHold && holdsAll(twin, updates)) return;
    updates.canonicalize();
    if (!this.runTurn(twin, APPLY_JOINS, updates, -1)) return;
    for (let i = 0; i < updates.length; i++) this.runTurn(twin, APPLY_JOINS, updates, i);
  }

  /** The twin has something to write (a changed lane, its dedupe window, its timers). */
  markDirty(twin: Twin): void {
    if (twin.dirty) return;
    twin.dirty = true;
    this.dirty[this.dirtyCount++] = twin;
  }

  /**
   * Once per twin (see {@link Twin.announced}): the current value of every lane its
   * parent joins, sent up as join updates. Before it, committed turns send no joins.
   */
  announce(twin: Twin): void {
    if (twin.announced) return;
    twin.markAnnounced();
    this.syncFilters(twin); // wildcard links meet the twin now, not while it only was read
    this.sendJoins(twin);
  }

  /**
   * The current value of every lane the parent joins, sent up again by a twin that
   * announced already: its parent lost what it had not committed (its worker thread died,
   * see Shard.resendJoins). A parent holding the values already runs no turn. A twin that
   * has not announced sends nothing: it has no state its parent could have lost.
   */
  resendJoins(twin: Twin): void {
    if (twin.announced) this.sendJoins(twin);
  }

  private sendJoins(twin: Twin): void {
    const joins = twin.upJoins;
    if (!joins || !twin.parent) return;
    const names = twin.definition.laneNames;
    for (let i = 0; i < joins.length; i++) {
      const targets = joins[i];
      if (!targets) continue;
      const value = this.reads.laneValue(twin, twin.lanes[names[i]!]!);
      for (const t of targets) {
        const projected = t.project ? this.reads.project(twin, t, value) : value;
        if (projected === READ_FAILED) continue;
        if (t.project) {
          twin.projected = t;
          twin.projection = projected;
        }
        this.sink.addJoin(twin, t.lane, projected, false);
      }
    }
  }

  /** A twin that becomes known while wildcard links match it sends them its state. */
  private syncFilters(twin: Twin): void {
    if (this.observers.filterCount === 0) return;
    const matches = this.filterMatches(twin);
    if (!matches) return;
    for (const [lane, observers] of matches) {
      const l = twin.lane(lane);
      if (!l) continue;
      for (const event of l.syncEvents()) this.observers.deliver(observers, event, twin.path);
    }
  }

  /** The step's writes (dirty twins' changes, then journal entries); starts the next step's list. */
  takeWrites(): StateWrite[] {
    const writes: StateWrite[] = [];
    const dirty = this.dirty;
    const n = this.dirtyCount;
    this.dirtyCount = 0;
    for (let i = 0; i < n; i++) {
      const twin = dirty[i]!;
      dirty[i] = null; // no stopped twin pinned until its slot is reused
      twin.dirty = false;
      // A twin persists from its announce on (see Twin.announced): what the onStart/onStop of
      // a twin that was only read changed is no state of a real twin. Its lane bits stay set,
      // so a later first write of a twin that becomes real includes those lanes.
      if (twin.announced) twin.collectWrites(writes, this.liveRecords);
    }
    if (this.journal.length > 0) {
      for (const j of this.journal) writes.push(j);
      this.journal = [];
    }
    return writes;
  }

  /** The step's derived events, in emission order. */
  takeOutputs(): DerivedEvent[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /** `input`: an event, command, timer or join turn (not onStart/onStop). */
  private commitTurn(twin: Twin, input: boolean): void {
    const turn = this.turn;
    const watched = this.observers.size > 0;
    const observed = watched ? this.observers.forPath(twin.path) : undefined;
    // Wildcard links meet a twin when it announces (see Twin.announced), which sends them its
    // state; before that they get only the stream-lane events (commands, supplies) of its first
    // input turn, which no state sync carries. A link to its exact path gets everything.
    const known = twin.announced;
    const filtered = watched && this.observers.filterCount > 0 && (known || input) ? this.filterMatches(twin) : null;
    const joins = twin.parent && known ? twin.upJoins : undefined;
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
        const wild = known || lane.kind === 'command' || lane.kind === 'supply' ? filtered?.get(lane.name) : undefined;
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
            if (value !== READ_FAILED) this.sink.addJoin(twin, t.lane, value, true);
            continue;
          }
          const next = this.reads.project(twin, t, value);
          if (next === READ_FAILED) {
            if (twin.projected === t) twin.projected = null;
            continue;
          }
          // The projection of the lane's value from before the turn: the one this commit or the
          // announce last made for this target (projections are functions of the value), else
          // projected again from the first log entry of the lane, which holds that value.
          const before = twin.projected === t ? twin.projection : this.reads.project(twin, t, turn.old(i));
          twin.projected = t;
          twin.projection = next;
          if (!jsonEquals(before, next)) this.sink.addJoin(twin, t.lane, next, true);
        }
      }
    }
    turn.afterCommit();
    if (twin.timersChanged) this.markDirty(twin);
    for (const e of turn.emits) this.outputs.push(e);
    for (const c of turn.commands) {
      if (this.sink.isLocal(c.path)) this.sink.enqueueLocal(c);
      else this.sink.sendRemote({ kind: 'command', path: c.path, lane: c.lane, value: c.value });
    }
    turn.begin();
  }

  /** Appends the turn's persistent lane changes to this step's journal writes. */
  private journalTurn(twin: Twin): void {
    const changes = journalChanges(this.turn);
    if (changes.length === 0) return;
    const entry: JournalEntry = {
      path: twin.path,
      time: this.clock.now(),
      seq: ++this.journalSeq,
      cause: this.cause,
      changes,
    };
    this.journal.push({ op: 'journal', path: twin.path, entry });
  }

  private filterMatches(twin: Twin): Map<string, LaneObserver[]> | null {
    twin.filterCache = this.observers.filterMatches(twin.path, twin.filterCache);
    return twin.filterCache.byLane;
  }
}
