import { TwinError } from '../errors.js';
import type { Lane, LaneHost } from '../lanes/lane.js';
import type { CommandLane } from '../lanes/signal-lanes.js';
import type { ValueLane } from '../lanes/value-lane.js';
import type { WindowLane } from '../lanes/window-lane.js';
import type { CommandSpec, WindowSpec } from '../model/lane-specs.js';
import type { StateWrite, StoredTwin } from '../store/state-store.js';
import { TwinPath, type RouteParams } from '../topology/index.js';
import type { Clock } from './clock.js';
import type { UpJoins } from './catalog.js';
import { DedupeWindow } from './dedupe.js';
import { own } from './own.js';
import type { FilterMatches } from './observers.js';
import { WINDOW_TIMER_PREFIX, type LaneSpecs, type TwinContext, type TwinEvent, type TwinLogger, type TwinModel, type TwinTimers } from '../model/twin-model.js';

/** What a twin needs from the shard that runs it. */
export interface TurnEnv {
  readonly clock: Clock;
  readonly log: TwinLogger;
  noteChange(twin: Twin, lane: Lane, key: string | undefined, old: unknown, existed: boolean): void;
  emit(twin: Twin, type: string, data: unknown, subject: string): void;
  sendCommand(from: Twin, path: string, lane: string, value: unknown): void;
  armTimer(path: string, name: string, due: number): void;
}

interface TimerState {
  readonly name: string;
  /** When the timer should fire; undefined once cancelled. */
  due: number | undefined;
  /** The due time of the earliest heap entry for it; lets `set` skip heap pushes when a deadline only moves later. */
  armed: number | undefined;
}

const TIMERS_LANE = '$timers';
const VERSION_FIELD = '$v';
const RECENT_LANE = '$recent';
const noCompute = (): unknown => undefined;
const MAX_HOOK_ROUNDS = 100;
/** The record (value lanes, timers, dedupe window) changed since the last write. */
const RECORD_DIRTY = 1;
/** The store holds a record for this twin. */
const HAS_RECORD = 2;
/** The stored record says the twin has keyed-lane entries (its `$e` field). */
const STORED_ENTRIES = 4;
/**
 * Bits 3…28: lane i (i < 26) changed since the last write; bit 30: some lane with a
 * higher index did, so every lane is visited. Lets a write visit only the changed lanes.
 */
const FIRST_LANE_BIT = 8;
const LANES_WITH_BITS = 26;
const ALL_LANES_DIRTY = 1 << 30;
/** Bit 29: the parent knows this twin (see {@link Twin.announced}). */
const ANNOUNCED = 1 << 29;
/** The bits that outlive a write. */
const KEEP_AFTER_WRITE = HAS_RECORD | STORED_ENTRIES | ANNOUNCED;
/**
 * Record field: 1 when the twin has entries of keyed lanes, 0 when it has none, so a
 * store can skip looking for entries on restore (most twins have none).
 */
const ENTRIES_FIELD = '$e';

/**
 * One live twin: its lanes, timers and hooks. It is also the `ctx` its model's hooks get
 * (one object per twin keeps the per-twin memory small). Only its shard calls the
 * methods below `// shard API`; model code sees the {@link TwinContext} surface.
 */
export class Twin implements LaneHost, TwinContext<LaneSpecs> {
  readonly lanes: Record<string, Lane>;
  state: 'starting' | 'active' | 'stopped' = 'starting';
  /** Path of the parent twin and which of our lanes feed its joins. */
  parent: string | null = null;
  upJoins: UpJoins | undefined = undefined;
  /** The parent has another shard key: its joins cross shards (and step boundaries). */
  parentRemote = false;
  /** Wildcard links matching this twin (cached per filter generation). */
  filterCache: FilterMatches | null = null;
  /** Set while the twin is in its shard's dirty list. */
  dirty = false;
  /** Clock seconds (a small integer, so no boxed number per turn) of the last turn. */
  lastActiveSec = 0;
  /** Hashed dedupe keys of the last accepted events (see DedupeWindow). */
  private recent: number[] | null = null;
  /** Armed timers; an array because twins have few and a Map costs ~100 bytes each. */
  private timerList: TimerState[] | null = null;
  /** RECORD_DIRTY | HAS_RECORD bits: one small integer instead of two boolean fields per twin. */
  private bookkeeping = 0;
  /** Things few twins ever need, allocated on first use to keep every twin small. */
  private rare: { params?: RouteParams } | null = null;
  /** Lanes whose onSet hook is due at the end of the turn, as [lane, old, lane, old, …]. */
  private deferred: unknown[] | null = null;

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
      const compute = spec.kind === 'demand'
        ? (): unknown => (definition.def.onDemand as Record<string, (c: unknown) => unknown>)[name]!(this)
        : noCompute;
      lanes[name] = spec.create(definition.laneInfos[i]!, this, compute);
    }
    this.lanes = lanes;
  }

  // ---- TwinContext -------------------------------------------------------------

  get model(): string {
    return this.definition.name;
  }

  /** Route parameters, bound on first use (most hot-path handlers never ask). */
  get params(): RouteParams {
    const rare = (this.rare ??= {});
    return (rare.params ??= this.definition.route.match(TwinPath.parse(this.path)) ?? {});
  }

  get log(): TwinLogger {
    return this.env.log;
  }

  now(): number {
    return this.env.clock.now();
  }

  get timers(): TwinTimers {
    // One handle shared by all twins, rebound here: hooks run one turn at a time.
    SHARED_TIMERS.twin = this;
    return SHARED_TIMERS;
  }

  emit(type: string, data?: unknown, options?: { subject?: string }): void {
    this.env.emit(this, type, data ?? null, options?.subject ?? this.path);
  }

  command(path: string, lane: string, value: unknown): void {
    this.env.sendCommand(this, path, lane, value);
  }

  reject(reason: string): never {
    throw new TwinError('TWIN_PAYLOAD_REJECTED', reason, { path: this.path });
  }

  // ---- LaneHost ----------------------------------------------------------------

  noteChange(lane: Lane, key: string | undefined, old: unknown, existed: boolean): void {
    this.env.noteChange(this, lane, key, old, existed);
  }

  afterWrite(lane: Lane, value: unknown, old: unknown, changed: boolean): void {
    const effects = this.definition.writeEffects[lane.index];
    if (!effects) return;
    if (changed && effects.onSet) this.deferSetHook(lane, old);
    const windows = effects.windows;
    for (let i = 0; i < windows.length; i++) {
      const index = windows[i]!;
      const name = this.definition.laneNames[index]!;
      const sample = (this.definition.def.lanes[name] as WindowSpec).sample(value);
      if (typeof sample !== 'number') continue;
      const w = this.lanes[name] as WindowLane;
      w.add(this.now(), sample);
      this.armWindow(w);
    }
  }

  afterEntry(lane: Lane, key: string, value: unknown, old: unknown, removed: boolean): void {
    const def = this.definition.def;
    if (lane.kind === 'join') {
      const hooks = (def.onJoin as Record<string, { update?: (...args: unknown[]) => void; remove?: (...args: unknown[]) => void } | undefined> | undefined)?.[lane.name];
      if (removed) hooks?.remove?.(this, key, old);
      else hooks?.update?.(this, key, value, old);
    } else if (lane.kind === 'map') {
      (def.onEntry as Record<string, ((...args: unknown[]) => void) | undefined> | undefined)?.[lane.name]?.(this, key, value, old);
    }
  }

  // ---- shard API ----------------------------------------------------------------

  /**
   * Runs the `onSet` hooks of the lanes that changed in this turn, with the value the
   * hook last saw as `old`. Hooks run at the end of the turn, not inside the write, so a
   * reaction sees the turn's settled state: a join batch that moves a floor's mean out
   * of band and back within one turn raises no episode. Hooks that change lanes with
   * hooks run in further rounds until nothing changes.
   */
  settleHooks(): void {
    const hooks = this.definition.def.onSet as Record<string, (c: Twin, v: unknown, o: unknown) => void>;
    for (let round = 0; this.deferred; round++) {
      if (round >= MAX_HOOK_ROUNDS) {
        this.deferred = null;
        throw new TwinError('TWIN_TURN_FAILED', `onSet hooks of ${this.path} did not settle after ${MAX_HOOK_ROUNDS} rounds`, { path: this.path });
      }
      const pending = this.deferred;
      this.deferred = null;
      for (let i = 0; i < pending.length; i += 2) {
        const lane = pending[i] as ValueLane<unknown>;
        const old = pending[i + 1];
        const current = lane.get();
        if (!lane.same(old, current)) hooks[lane.name]!(this, current, old);
      }
    }
  }

  /** True when an event with this dedupe hash was accepted recently (redelivery or replay). */
  isDuplicate(hash: number): boolean {
    return DedupeWindow.contains(this.recent, hash);
  }

  /** Remembers an accepted event; persisted with the turn's effects in the same record. */
  remember(hash: number, window: number): void {
    this.recent = DedupeWindow.add(this.recent, hash, window);
    this.bookkeeping |= RECORD_DIRTY; // the record carries the window
  }

  /** Forgets hooks of a turn that is being rolled back. */
  abortTurn(): void {
    this.deferred = null;
  }

  restore(stored: StoredTwin): void {
    const from = typeof stored.values[VERSION_FIELD] === 'number' ? stored.values[VERSION_FIELD] : 1;
    const to = this.definition.def.version ?? 1;
    for (const name of this.definition.laneNames) {
      const lane = this.lanes[name]!;
      if (lane.persistent) lane.restore(stored, from, to);
    }
    // Lanes a newer model removed are simply not read; the next record write drops them.
    // (Loops rather than Object.keys/filter/entries: a bulk restore runs this per twin.)
    for (const _ in stored.values) {
      this.bookkeeping |= HAS_RECORD;
      break;
    }
    if (stored.entries.size > 0) this.bookkeeping |= STORED_ENTRIES;
    if (from !== to) this.bookkeeping |= RECORD_DIRTY; // rewrite the record at the new version
    const recent = stored.values[RECENT_LANE];
    if (Array.isArray(recent)) {
      let numbers = true;
      for (let i = 0; i < recent.length; i++) if (typeof recent[i] !== 'number') numbers = false;
      // A copy: the store may hold this array (the memory store keeps records by reference).
      this.recent = numbers ? (recent as number[]).slice() : recent.filter((h): h is number => typeof h === 'number');
    }
    const timers = stored.values[TIMERS_LANE] as Record<string, number> | undefined;
    if (timers) for (const name in timers) this.setTimer(name, timers[name]!, false);
  }

  /** The lane named `name`, if the model declares it (own properties only: see {@link own}). */
  lane(name: string): Lane | undefined {
    return own(this.lanes, name);
  }

  runEvent(event: TwinEvent): void {
    // The event type is the sender's: `on.constructor` is not a handler.
    const on = this.definition.def.on as Readonly<Record<string, unknown>> | undefined;
    const handler = (own(on, event.type) ?? own(on, '*')) as ((ctx: Twin, e: TwinEvent) => void) | undefined;
    if (!handler) {
      throw new TwinError('TWIN_EVENT_UNHANDLED', `model "${this.model}" has no handler for event type "${event.type}"`, {
        path: this.path, type: event.type,
      });
    }
    handler(this, event);
  }

  runCommand(laneName: string, raw: unknown): void {
    const lane = this.lane(laneName);
    if (!lane) throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${this.path} has no lane "${laneName}"`, { path: this.path, lane: laneName });
    if (lane.kind === 'value') {
      (lane as unknown as { set(v: unknown): void }).set(raw);
      return;
    }
    if (lane.kind !== 'command') {
      throw new TwinError('TWIN_LANE_KIND', `lane "${laneName}" of ${this.path} is a ${lane.kind} lane and takes no commands`, { path: this.path, lane: laneName });
    }
    const spec = this.definition.def.lanes[laneName] as CommandSpec<unknown>;
    let command = raw;
    if (spec.parse) {
      try {
        command = spec.parse(raw);
      } catch (err) {
        throw new TwinError('TWIN_PAYLOAD_REJECTED', `command for ${this.path}#${laneName} rejected: ${(err as Error).message}`, { path: this.path, lane: laneName });
      }
    }
    (lane as CommandLane<unknown>).received(command);
    (this.definition.def.onCommand as Record<string, ((c: Twin, v: unknown) => void) | undefined> | undefined)?.[laneName]?.(this, command);
  }

  /** Runs a timer that came due; stale heap entries (moved or cancelled timers) are ignored. */
  runTimer(name: string, entryDue: number): void {
    const t = this.timer(name);
    if (!t || t.armed !== entryDue) return;
    t.armed = undefined;
    if (t.due === undefined) return;
    if (t.due > entryDue) {
      t.armed = t.due;
      this.env.armTimer(this.path, name, t.due);
      return;
    }
    this.timerList!.splice(this.timerList!.indexOf(t), 1);
    this.bookkeeping |= RECORD_DIRTY;
    if (name.startsWith(WINDOW_TIMER_PREFIX)) {
      this.closeWindows(name.slice(WINDOW_TIMER_PREFIX.length));
      return;
    }
    const hook = this.definition.def.onTimer?.[name];
    if (!hook) throw new TwinError('TWIN_TURN_FAILED', `model "${this.model}" has no onTimer hook "${name}"`, { path: this.path, timer: name });
    hook(this);
  }

  /**
   * True once the twin told its parent the values its joins take. A twin announces when
   * it has state: restored from the store, or after its first event, command, timer or
   * join turn. A twin that was only read or linked (any routed path can be) never does,
   * so it cannot show up in its parent's aggregates (an unknown room in a unit's
   * unoccupied list) and leaves nothing in the store.
   */
  get announced(): boolean {
    return (this.bookkeeping & ANNOUNCED) !== 0;
  }

  markAnnounced(): void {
    this.bookkeeping |= ANNOUNCED;
  }

  /** True while a timer is due (cancelled ones excluded). */
  get hasTimers(): boolean {
    const list = this.timerList;
    if (list) for (let i = 0; i < list.length; i++) if (list[i]!.due !== undefined) return true;
    return false;
  }

  /** True when the record's bookkeeping (timers, dedupe window) changed since the last {@link Twin.collectWrites}. */
  get timersChanged(): boolean {
    return (this.bookkeeping & RECORD_DIRTY) !== 0;
  }

  /** A persistent lane changed in a committed turn: the next write visits it. */
  laneChanged(index: number): void {
    this.bookkeeping |= index < LANES_WITH_BITS ? FIRST_LANE_BIT << index : ALL_LANES_DIRTY;
  }

  /**
   * Appends what changed since the last call: entry writes of keyed lanes, and the whole
   * record (value lanes + timers) when any part of it changed, so one put per twin.
   */
  collectWrites(out: StateWrite[]): void {
    const bits = this.bookkeeping;
    let recordDirty = (bits & RECORD_DIRTY) !== 0;
    this.bookkeeping &= KEEP_AFTER_WRITE;
    const all = (bits & ALL_LANES_DIRTY) !== 0;
    const before = out.length;
    const persistent = this.definition.persistentLanes;
    const keyed = this.definition.keyedLanes;
    const names = this.definition.laneNames;
    let keyedChanged = false;
    for (let i = 0; i < persistent.length; i++) {
      const index = persistent[i]!;
      if (!all && (index >= LANES_WITH_BITS || (bits & (FIRST_LANE_BIT << index)) === 0)) continue;
      if (this.lanes[names[index]!]!.collect(out)) recordDirty = true;
      if (keyed[index]) keyedChanged = true;
    }
    if (keyedChanged) {
      let hasEntries = false;
      for (let i = 0; i < persistent.length && !hasEntries; i++) {
        const index = persistent[i]!;
        if (keyed[index] && this.lanes[names[index]!]!.hasEntries()) hasEntries = true;
      }
      if (hasEntries !== ((bits & STORED_ENTRIES) !== 0)) {
        this.bookkeeping ^= STORED_ENTRIES;
        recordDirty = true; // the record's `$e` must follow
      }
    }
    // Every twin with state gets a record (even one with only keyed lanes), so stores can list it.
    const created = (this.bookkeeping & HAS_RECORD) === 0;
    if (!recordDirty && (!created || out.length === before)) return;
    this.bookkeeping |= HAS_RECORD;
    out.push({ op: 'record', path: this.path, values: this.recordValues(), created });
  }

  /** The twin's record: value-shaped lanes, model version, dedupe window, due timers. */
  private recordValues(): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    values[VERSION_FIELD] = this.definition.def.version ?? 1;
    values[ENTRIES_FIELD] = (this.bookkeeping & STORED_ENTRIES) !== 0 ? 1 : 0;
    const persistent = this.definition.persistentLanes;
    const names = this.definition.laneNames;
    for (let i = 0; i < persistent.length; i++) {
      const name = names[persistent[i]!]!;
      const v = this.lanes[name]!.recordValue();
      if (v !== undefined) values[name] = v;
    }
    if (this.recent) values[RECENT_LANE] = this.recent.slice();
    const timers = this.timerList;
    if (timers) {
      let due: Record<string, number> | undefined;
      for (let i = 0; i < timers.length; i++) {
        const t = timers[i]!;
        if (t.due !== undefined) (due ??= {})[t.name] = t.due;
      }
      if (due) values[TIMERS_LANE] = due;
    }
    return values;
  }

  /** Lane state as plain JSON, optionally only some lanes. */
  snapshot(only?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of only ?? this.definition.laneNames) {
      const lane = this.lane(name);
      if (!lane) throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${this.path} has no lane "${name}"`, { path: this.path, lane: name });
      if (lane.kind !== 'command' && lane.kind !== 'supply') out[name] = lane.toJSON();
    }
    return out;
  }

  private deferSetHook(lane: Lane, old: unknown): void {
    const pending = (this.deferred ??= []);
    for (let i = 0; i < pending.length; i += 2) if (pending[i] === lane) return; // keep the earliest old value
    pending.push(lane, old);
  }

  /** @internal (TimerHandle) */
  setTimer(name: string, due: number, markDirty = true): void {
    if (!Number.isFinite(due)) throw new RangeError(`timer "${name}" needs a finite time`);
    let t = this.timer(name);
    if (!t) (this.timerList ??= []).push((t = { name, due: undefined, armed: undefined }));
    t.due = due;
    if (markDirty) this.bookkeeping |= RECORD_DIRTY;
    if (t.armed === undefined || due < t.armed) {
      t.armed = due;
      this.env.armTimer(this.path, name, due);
    }
  }

  /** @internal (TimerHandle) */
  timer(name: string): TimerState | undefined {
    const list = this.timerList;
    if (!list) return undefined;
    for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return list[i];
    return undefined;
  }

  /** @internal (TimerHandle) */
  cancelTimer(name: string): void {
    const t = this.timer(name);
    if (!t || t.due === undefined) return;
    t.due = undefined;
    this.bookkeeping |= RECORD_DIRTY;
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
    const closed = w.advance(this.now());
    const hook = (this.definition.def.onWindow as Record<string, ((c: Twin, r: unknown) => void) | undefined> | undefined)?.[name];
    for (const result of closed) hook?.(this, result);
    this.armWindow(w);
  }
}

/** `ctx.timers`: one shared handle, bound to the twin whose hook asked for it. */
class TimerHandle implements TwinTimers {
  twin!: Twin;
  set(name: string, delayMs: number): void {
    this.twin.setTimer(name, this.twin.now() + delayMs);
  }
  setAt(name: string, time: number): void {
    this.twin.setTimer(name, time);
  }
  cancel(name: string): void {
    this.twin.cancelTimer(name);
  }
  due(name: string): number | undefined {
    return this.twin.timer(name)?.due;
  }
}

const SHARED_TIMERS = new TimerHandle();
