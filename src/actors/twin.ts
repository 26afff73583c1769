import { TwinError } from '../errors.js';
import type { Lane, LaneHost, SharedPaths } from '../lanes/lane.js';
import { WINDOW_TIMER_PREFIX, type TwinEvent, type TwinLogger, type TwinModel } from '../model/twin-model.js';
import type { LiveRecord, LiveRecords, StateWrite, StoredTwin } from '../store/state-store.js';
import type { Clock } from './clock.js';
import type { JoinTarget, UpJoins } from './catalog.js';
import { DedupeWindow } from './dedupe.js';
import type { FilterMatches } from './observers.js';
import { own } from './own.js';
import { TwinCtx } from './twin-context.js';
import { NEVER_ACTIVE } from './activity-time.js';
import {
  ALL_LANES_DIRTY,
  ANNOUNCED,
  DIRTY,
  FIRST_LANE_BIT,
  HAS_RECORD,
  LANES_WITH_BITS,
  PARENT_REMOTE,
  RECORD_DIRTY,
  STATE_MASK,
  STATE_SHIFT,
  STATES,
  STORED_ENTRIES,
  type TwinState,
} from './twin-bits.js';
import { dispatchCommand, dispatchEntry, dispatchEvent, dispatchTimer, runSetHooks } from './twin-hooks.js';
import { decodeInputSeq, decodeRecent, decodeTimers, hasStoredRecord, storedVersion } from './twin-record.js';
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
import { closeWindows, sampleWindows } from './twin-windows.js';
import { collectWrites, committedState } from './twin-writes.js';

export type { TwinState } from './twin-bits.js';
export { TURN_OF } from './twin-writes.js';

/** What a twin needs from the shard that runs it. */
export interface TurnEnv {
  readonly clock: Clock;
  readonly log: TwinLogger;
  noteChange(twin: Twin, lane: Lane, key: string | undefined, old: unknown, existed: boolean): void;
  emit(twin: Twin, type: string, data: unknown, subject: string): void;
  sendCommand(from: Twin, path: string, lane: string, value: unknown): void;
  armTimer(path: string, name: string, due: number): void;
  /** A sliding window of `twin` dropped samples past its bound (logged, rate-limited). */
  samplesDropped(twin: Twin, lane: Lane, count: number): void;
}

const noCompute = (): unknown => undefined;
/** Rounds of `onSet` hooks one turn may run: hooks that keep changing each other's lanes fail the turn. */
const MAX_HOOK_ROUNDS = 100;

/**
 * One live twin: its lanes, timers and dedupe window, and the host of its lanes (their
 * changes go to the turn log, their writes to windows and `onSet` hooks). Only the engine
 * sees it: model hooks get its {@link TwinCtx}, which holds it privately. What the hooks
 * are and how they are called is in twin-hooks.ts; the stored record's layout is in
 * twin-record.ts, what a step hands the store in twin-writes.ts; what timer entries mean
 * is in twin-timers.ts; window lanes' sampling and closing in twin-windows.ts; the flags
 * in `bits` in twin-bits.ts.
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
  /** When the twin last had an item (see activity-time.ts: a small integer, so no boxed number per turn). */
  lastActiveSec = NEVER_ACTIVE;
  // Read by twin-writes.ts (the record carries them); set only here.
  /** Hashed dedupe keys of the last accepted events (see DedupeWindow). */
  recent: number[] | null = null;
  /** Armed timers (see twin-timers.ts). */
  timerList: TimerList = null;
  /** Flags and lane bits (see twin-bits.ts). */
  bits = 0;
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

  samplesDropped(lane: Lane, count: number): void {
    this.env.samplesDropped(this, lane, count);
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
    if (name.startsWith(WINDOW_TIMER_PREFIX)) closeWindows(this, name.slice(WINDOW_TIMER_PREFIX.length));
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
    sampleWindows(this); // the windows sample the values their sources settled on
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
   * record when any part of it changed (see twin-writes.ts).
   */
  collectWrites(out: StateWrite[], live?: LiveRecords): void {
    collectWrites(this, out, live);
  }

  /** What the store holds for this twin as of its last write, built now (see twin-writes.ts). */
  committedState(): StoredTwin | undefined {
    return committedState(this);
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
}
