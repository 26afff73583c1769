import { TwinError } from '../errors.js';
import type { Lane, LaneHost, SharedPaths } from '../lanes/lane.js';
import type { ValueLane } from '../lanes/value-lane.js';
import type { WindowLane } from '../lanes/window-lane.js';
import type { WindowSpec } from '../model/lane-specs.js';
import { WINDOW_TIMER_PREFIX, type TwinEvent, type TwinLogger, type TwinModel } from '../model/twin-model.js';
import type { LiveRecord, LiveRecords, StateWrite, StoredTwin } from '../store/state-store.js';
import type { Clock } from './clock.js';
import type { JoinTarget, UpJoins } from './catalog.js';
import { DedupeWindow } from './dedupe.js';
import type { FilterMatches } from './observers.js';
import { own } from './own.js';
import { TwinCtx } from './twin-context.js';
import {
  dispatchCommand,
  dispatchEntry,
  dispatchEvent,
  dispatchTimer,
  dispatchWindows,
  runSetHooks,
} from './twin-hooks.js';
import {
  decodeInputSeq,
  decodeRecent,
  decodeTimers,
  encodeRecord,
  hasStoredRecord,
  storedVersion,
} from './twin-record.js';
import {
  anyDue,
  armedOf,
  cancelDue,
  dueOf,
  setDue,
  takeDue,
  TIMER_FIRES,
  TIMER_MOVED,
  type TimerList,
  withTimer,
} from './twin-timers.js';
import { WRITTEN_SOURCES } from './window-samples.js';

/** What a twin needs from the shard that runs it. */
export interface TurnEnv {
  readonly clock: Clock;
  readonly log: TwinLogger;
  noteChange(twin: Twin, lane: Lane, key: string | undefined, old: unknown, existed: boolean): void;
  emit(twin: Twin, type: string, data: unknown, subject: string): void;
  sendCommand(from: Twin, path: string, lane: string, value: unknown): void;
  armTimer(path: string, name: string, due: number): void;
}

export type TwinState = 'starting' | 'active' | 'stopped';

const noCompute = (): unknown => undefined;
/** Rounds of `onSet` hooks one turn may run: hooks that keep changing each other's lanes fail the turn. */
const MAX_HOOK_ROUNDS = 100;

// ---- the `bits` field: flags and lane bits of one twin in one small integer ------------
// (one Smi instead of a field per flag: 8 bytes less per flag and live twin)

/** The record (value lanes, timers, dedupe window) changed since the last write. */
const RECORD_DIRTY = 1;
/** The store holds a record for this twin. */
const HAS_RECORD = 2;
/** The stored record says the twin has keyed-lane entries (its `$e` field). */
const STORED_ENTRIES = 4;
/**
 * Bits 3…23: lane i (i < 21) changed since the last write; {@link ALL_LANES_DIRTY}: some
 * lane with a higher index did, so every lane is visited. Lets a write visit only the
 * changed lanes.
 */
const FIRST_LANE_BIT = 8;
const LANES_WITH_BITS = 21;
/** Bit 24: the store holds this live twin's record by reference (see {@link Twin.committedRecord}). */
const LIVE_HELD = 1 << 24;
/** Bit 25: the twin is in its shard's dirty list (see {@link Twin.dirty}). */
const DIRTY = 1 << 25;
/** Bit 26: the parent has another shard key (see {@link Twin.parentRemote}). */
const PARENT_REMOTE = 1 << 26;
/** Bits 27-28: the {@link TwinState}, as its index in {@link STATES}. */
const STATE_SHIFT = 27;
const STATE_MASK = 3 << STATE_SHIFT;
const STATES: readonly TwinState[] = ['starting', 'active', 'stopped'];
/** Bit 29: the parent knows this twin (see {@link Twin.announced}). */
const ANNOUNCED = 1 << 29;
const ALL_LANES_DIRTY = 1 << 30;
/** The bits that outlive a write. */
const KEEP_AFTER_WRITE = HAS_RECORD | STORED_ENTRIES | DIRTY | PARENT_REMOTE | STATE_MASK | ANNOUNCED | LIVE_HELD;
const STOPPED = 2 << STATE_SHIFT;

/**
 * The twin whose turn is running now (set by the turn runner around a turn's body, hooks
 * and commit), so a held record is never read mid-turn (see {@link Twin.committedRecord}).
 */
export const TURN_OF: { twin: Twin | null } = { twin: null };

/**
 * One live twin: its lanes, timers and dedupe window, and the host of its lanes (their
 * changes go to the turn log, their writes to windows and `onSet` hooks). Only the engine
 * sees it: model hooks get its {@link TwinCtx}, which holds it privately. What the hooks
 * are and how they are called is in twin-hooks.ts; the stored record's layout is in
 * twin-record.ts; what timer entries mean is in twin-timers.ts.
 */
export class Twin implements LaneHost, LiveRecord {
  readonly lanes: Record<string, Lane>;
  /** Path of the parent twin and which of our lanes feed its joins. */
  parent: string | null = null;
  upJoins: UpJoins | undefined = undefined;
  /** Wildcard links matching this twin (cached per filter generation). */
  filterCache: FilterMatches | null = null;
  /**
   * The join target whose projection of our current lane value is {@link projection}, or
   * null: what the parent last had from a projected join, so a commit need not project the
   * lane's old value again to compare (one target cached; others are projected as before).
   */
  projected: JoinTarget | null = null;
  projection: unknown = undefined;
  /** Clock seconds (a small integer, so no boxed number per turn) of the last turn. */
  lastActiveSec = 0;
  /** Hashed dedupe keys of the last accepted events (see DedupeWindow). */
  private recent: number[] | null = null;
  /** Armed timers (see twin-timers.ts). */
  private timerList: TimerList = null;
  /** Flags and lane bits (see the constants above). */
  private bits = 0;
  /** Lanes whose onSet hook is due at the end of the turn, as [lane, old, lane, old, …]. */
  private deferred: unknown[] | null = null;
  /** What hooks get as `ctx`; made on first use (a peeked twin never needs one). */
  private context: TwinCtx | null = null;

  constructor(
    readonly path: string,
    readonly definition: TwinModel,
    private readonly env: TurnEnv,
  ) {
    const lanes: Record<string, Lane> = {};
    const names = definition.laneNames;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const spec = definition.def.lanes[name]!;
      // Only demand lanes need a closure; every other lane shares one, to keep twins small.
      const compute =
        spec.kind === 'demand'
          ? (): unknown => (definition.def.onDemand as Record<string, (c: TwinCtx) => unknown>)[name]!(this.ctx)
          : noCompute;
      lanes[name] = spec.create(definition.laneInfos[i]!, this, compute);
    }
    this.lanes = lanes;
  }

  /** The `ctx` of this twin's hooks (one per twin, kept). */
  get ctx(): TwinCtx {
    return (this.context ??= new TwinCtx(this));
  }

  get model(): string {
    return this.definition.name;
  }

  get state(): TwinState {
    return STATES[(this.bits & STATE_MASK) >>> STATE_SHIFT]!;
  }

  set state(state: TwinState) {
    this.bits = (this.bits & ~STATE_MASK) | (STATES.indexOf(state) << STATE_SHIFT);
  }

  /** Set while the twin is in its shard's dirty list. */
  get dirty(): boolean {
    return (this.bits & DIRTY) !== 0;
  }

  set dirty(on: boolean) {
    this.bits = on ? this.bits | DIRTY : this.bits & ~DIRTY;
  }

  /** The parent has another shard key: its joins cross shards (and step boundaries). */
  get parentRemote(): boolean {
    return (this.bits & PARENT_REMOTE) !== 0;
  }

  set parentRemote(on: boolean) {
    this.bits = on ? this.bits | PARENT_REMOTE : this.bits & ~PARENT_REMOTE;
  }

  // ---- what the ctx forwards -----------------------------------------------------

  get log(): TwinLogger {
    return this.env.log;
  }

  now(): number {
    return this.env.clock.now();
  }

  emit(type: string, data: unknown, subject: string | undefined): void {
    this.env.emit(this, type, data ?? null, subject ?? this.path);
  }

  command(path: string, lane: string, value: unknown): void {
    this.env.sendCommand(this, path, lane, value);
  }

  reject(reason: string): never {
    throw new TwinError('TWIN_PAYLOAD_REJECTED', reason, { path: this.path });
  }

  setTimer(name: string, due: number, markDirty = true): void {
    if (!Number.isFinite(due)) throw new RangeError(`timer "${name}" needs a finite time`);
    const list = (this.timerList = withTimer(this.timerList, name));
    const arm = setDue(list, name, due);
    if (markDirty) this.bits |= RECORD_DIRTY;
    if (arm) this.env.armTimer(this.path, name, due);
  }

  cancelTimer(name: string): void {
    if (cancelDue(this.timerList, name)) this.bits |= RECORD_DIRTY;
  }

  timerDue(name: string): number | undefined {
    return dueOf(this.timerList, name);
  }

  // ---- LaneHost ----------------------------------------------------------------

  noteChange(lane: Lane, key: string | undefined, old: unknown, existed: boolean): void {
    this.env.noteChange(this, lane, key, old, existed);
  }

  afterWrite(lane: Lane, _value: unknown, old: unknown, changed: boolean): void {
    const effects = this.definition.writeEffects[lane.index];
    if (!effects) return;
    if (changed && effects.onSet) this.deferSetHook(lane, old);
    if (effects.windows.length > 0) WRITTEN_SOURCES.note(lane); // sampled once, at the end of the turn
  }

  afterEntry(lane: Lane, key: string, value: unknown, old: unknown, removed: boolean): void {
    dispatchEntry(this, lane, key, value, old, removed);
  }

  // ---- turns (the shard's turn runner calls these) --------------------------------

  runEvent(event: TwinEvent): void {
    dispatchEvent(this, event);
  }

  runCommand(laneName: string, raw: unknown): void {
    dispatchCommand(this, laneName, raw);
  }

  /** Runs a timer that came due; stale heap entries (moved or cancelled timers) are ignored. */
  runTimer(name: string, entryDue: number): void {
    const outcome = takeDue(this.timerList, name, entryDue);
    if (outcome === TIMER_MOVED) this.env.armTimer(this.path, name, armedOf(this.timerList, name)!);
    if (outcome !== TIMER_FIRES) return;
    this.bits |= RECORD_DIRTY;
    if (name.startsWith(WINDOW_TIMER_PREFIX)) this.closeWindows(name.slice(WINDOW_TIMER_PREFIX.length));
    else dispatchTimer(this, name);
  }

  /**
   * Runs the `onSet` hooks of the lanes that changed in this turn, with the value the
   * hook last saw as `old`. Hooks run at the end of the turn, not inside the write, so a
   * reaction sees the turn's settled state: a join batch that moves a floor's mean out
   * of band and back within one turn raises no episode. Hooks that change lanes with
   * hooks run in further rounds until nothing changes. Then the windows sample the
   * values their sources settled on.
   */
  settleHooks(): void {
    for (let round = 0; this.deferred; round++) {
      if (round >= MAX_HOOK_ROUNDS) {
        this.deferred = null;
        throw new TwinError(
          'TWIN_TURN_FAILED',
          `onSet hooks of ${this.path} did not settle after ${MAX_HOOK_ROUNDS} rounds`,
          { path: this.path },
        );
      }
      const pending = this.deferred;
      this.deferred = null;
      runSetHooks(this, pending);
    }
    this.sampleWindows();
  }

  /**
   * Feeds each window lane the settled value of its source, once per turn that wrote it
   * (see window-samples.ts). Runs after the onSet hooks, which may write sources too, and
   * inside the turn, so a sample commits or rolls back with it.
   */
  private sampleWindows(): void {
    const written = WRITTEN_SOURCES.size;
    if (written === 0) return;
    const names = this.definition.laneNames;
    for (let s = 0; s < written; s++) {
      const source = WRITTEN_SOURCES.at(s);
      if (this.lanes[source.name] !== source) continue; // written outside a turn by model code of another twin
      const value = (source as ValueLane<unknown>).get();
      const windows = this.definition.writeEffects[source.index]!.windows;
      for (let i = 0; i < windows.length; i++) {
        const name = names[windows[i]!]!;
        const sample = (this.definition.def.lanes[name] as WindowSpec).sample(value);
        if (typeof sample !== 'number') continue;
        const w = this.lanes[name] as WindowLane;
        w.add(this.now(), sample);
        this.armWindow(w);
      }
    }
    WRITTEN_SOURCES.clear(); // (a sample that throws fails the turn, whose abortTurn clears it)
  }

  /** Forgets hooks and window samples of a turn that is being rolled back. */
  abortTurn(): void {
    this.deferred = null;
    WRITTEN_SOURCES.clear();
  }

  /**
   * Cluster mode: the highest sequence of its vshard's input stream this twin applied
   * (0 outside a cluster). Stored in the record with the state it produced.
   */
  inputSeq = 0;

  /** Records that input up to `seq` is applied (see {@link inputSeq}); persisted with the turn's effects. */
  advanceInputSeq(seq: number): void {
    if (seq <= this.inputSeq) return;
    this.inputSeq = seq;
    this.bits |= RECORD_DIRTY;
  }

  /** True when an event with this dedupe hash was accepted recently (redelivery or replay). */
  isDuplicate(hash: number): boolean {
    return DedupeWindow.contains(this.recent, hash);
  }

  /** Remembers an accepted event; persisted with the turn's effects in the same record. */
  remember(hash: number, window: number): void {
    this.recent = DedupeWindow.add(this.recent, hash, window);
    this.bits |= RECORD_DIRTY; // the record carries the window
  }

  /** `shared`: see {@link Lane.restore}. */
  restore(stored: StoredTwin, shared?: SharedPaths): void {
    const from = storedVersion(stored);
    const to = this.definition.def.version ?? 1;
    for (const name of this.definition.laneNames) {
      const lane = this.lanes[name]!;
      if (lane.persistent) lane.restore(stored, from, to, shared);
    }
    // Lanes a newer model removed are simply not read; the next record write drops them.
    if (hasStoredRecord(stored)) this.bits |= HAS_RECORD;
    if (stored.entries.size > 0) this.bits |= STORED_ENTRIES;
    if (from !== to) this.bits |= RECORD_DIRTY; // rewrite the record at the new version
    const recent = decodeRecent(stored);
    if (recent) this.recent = recent;
    this.inputSeq = decodeInputSeq(stored);
    const timers = decodeTimers(stored);
    if (!timers) return;
    for (const name in timers) this.setTimer(name, timers[name]!, false);
  }

  /** The lane named `name`, if the model declares it (own properties only: see {@link own}). */
  lane(name: string): Lane | undefined {
    return own(this.lanes, name);
  }

  /**
   * True once the twin told its parent the values its joins take. A twin announces when
   * it has state: restored from the store, or after its first event, command, timer or
   * join turn. A twin that was only read or linked (any routed path can be) never does,
   * so it cannot show up in its parent's aggregates (an unknown room in a unit's
   * unoccupied list) and leaves nothing in the store.
   */
  get announced(): boolean {
    return (this.bits & ANNOUNCED) !== 0;
  }

  markAnnounced(): void {
    this.bits |= ANNOUNCED;
  }

  /** True while a timer is due (cancelled ones excluded). */
  get hasTimers(): boolean {
    return anyDue(this.timerList);
  }

  /** True when the record's bookkeeping (timers, dedupe window) changed since the last {@link Twin.collectWrites}. */
  get timersChanged(): boolean {
    return (this.bits & RECORD_DIRTY) !== 0;
  }

  /** A persistent lane changed in a committed turn: the next write visits it. */
  laneChanged(index: number): void {
    this.bits |= index < LANES_WITH_BITS ? FIRST_LANE_BIT << index : ALL_LANES_DIRTY;
  }

  /**
   * Appends what changed since the last call: entry writes of keyed lanes, and the whole
   * record (value lanes + timers) when any part of it changed, so one put per twin. With
   * `live` (a store that can hold records by reference) the record of a live twin is
   * handed over once, as this twin ({@link committedRecord}), and no record is built per
   * step; a stopped twin writes its record, so the store keeps a value, not the twin.
   */
  collectWrites(out: StateWrite[], live?: LiveRecords): void {
    const bits = this.bits;
    let recordDirty = (bits & RECORD_DIRTY) !== 0;
    this.bits &= KEEP_AFTER_WRITE;
    const all = (bits & ALL_LANES_DIRTY) !== 0;
    const before = out.length;
    const persistent = this.definition.persistentLanes;
    const keyed = this.definition.keyedLanes;
    const names = this.definition.laneNames;
    const stopped = (bits & STATE_MASK) === STOPPED;
    // A store that reads a live twin from its lanes gets nothing while the twin lives: value
    // lanes have nothing to hand over, keyed lanes only forget what changed.
    const held = live !== undefined && !stopped;
    let keyedChanged = false;
    let changed = false;
    for (let i = 0; i < persistent.length; i++) {
      const index = persistent[i]!;
      if (!all && (index >= LANES_WITH_BITS || (bits & (FIRST_LANE_BIT << index)) === 0)) continue;
      changed = true;
      if (held && !keyed[index]) continue;
      const lane = this.lanes[names[index]!]!;
      if (held ? lane.discardChanges() : lane.collect(out)) recordDirty = true;
      if (keyed[index]) keyedChanged = true;
    }
    if (keyedChanged) {
      let hasEntries = false;
      for (let i = 0; i < persistent.length && !hasEntries; i++) {
        const index = persistent[i]!;
        if (keyed[index] && this.lanes[names[index]!]!.hasEntries()) hasEntries = true;
      }
      if (hasEntries !== ((bits & STORED_ENTRIES) !== 0)) {
        this.bits ^= STORED_ENTRIES;
        recordDirty = true; // the record's `$e` must follow
      }
    }
    if (held) {
      // Handed over once; from then on the store reads it (see committedState).
      if ((bits & LIVE_HELD) === 0 && (recordDirty || changed)) {
        this.bits |= LIVE_HELD | HAS_RECORD;
        live.holdLive(this.path, this);
      }
      return;
    }
    if ((bits & LIVE_HELD) !== 0) recordDirty = true; // stopped: the store must keep a value, not the twin
    // Every twin with state gets a record (even one with only keyed lanes), so stores can list it.
    const created = (this.bits & HAS_RECORD) === 0;
    if (!recordDirty && (!created || out.length === before)) return;
    this.bits = (this.bits | HAS_RECORD) & ~LIVE_HELD;
    const values = this.encodeRecord();
    out.push({ op: 'record', path: this.path, values, created });
  }

  /** This twin's record as its lanes and bookkeeping are now (see twin-record.ts). */
  private encodeRecord(): Record<string, unknown> {
    return encodeRecord(
      this.definition,
      this.lanes,
      (this.bits & STORED_ENTRIES) !== 0,
      this.recent,
      this.timerList,
      this.inputSeq,
    );
  }

  /**
   * What the store holds for this twin as of its last write (see {@link collectWrites}),
   * built now: its record and its keyed lanes' entries. Undefined while a step is changing
   * it (a turn of it runs, or it changed since its last write).
   */
  committedState(): StoredTwin | undefined {
    if ((this.bits & DIRTY) !== 0 || TURN_OF.twin === this) return undefined;
    const values = this.encodeRecord();
    const entries = new Map<string, Map<string, unknown>>();
    const persistent = this.definition.persistentLanes;
    const keyed = this.definition.keyedLanes;
    const names = this.definition.laneNames;
    for (let i = 0; i < persistent.length; i++) {
      const index = persistent[i]!;
      if (!keyed[index]) continue;
      const name = names[index]!;
      const stored = this.lanes[name]!.storedEntries();
      if (stored) entries.set(name, stored);
    }
    return { values, entries };
  }

  /** Lane state as plain JSON, optionally only some lanes. */
  snapshot(only?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of only ?? this.definition.laneNames) {
      const lane = this.lane(name);
      if (!lane)
        throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${this.path} has no lane "${name}"`, {
          path: this.path,
          lane: name,
        });
      if (lane.kind !== 'command' && lane.kind !== 'supply') out[name] = lane.toJSON();
    }
    return out;
  }

  private deferSetHook(lane: Lane, old: unknown): void {
    const pending = (this.deferred ??= []);
    for (let i = 0; i < pending.length; i += 2) if (pending[i] === lane) return; // keep the earliest old value
    pending.push(lane, old);
  }

  private armWindow(w: WindowLane): void {
    const due = w.nextDeadline();
    const name = this.definition.windowTimers[w.index]!;
    if (due === undefined) this.cancelTimer(name);
    else this.setTimer(name, due);
  }

  private closeWindows(name: string): void {
    const w = this.lane(name) as WindowLane | undefined;
    if (!w) return;
    dispatchWindows(this, name, w.advance(this.now()));
    this.armWindow(w);
  }
}
