import type { LaneEvent } from './events.js';
import { Lane, type LaneInfo } from './lane.js';
import type { StateWrite, StoredTwin } from '../store/state-store.js';
import {
  addSample,
  addWeightedSample,
  asWeighted,
  emptyWeightedWindow,
  emptyWindow,
  extendWindow,
  slidingResult,
  type TimeWeightedWindowResult,
  type WindowResult,
} from './window-math.js';

export type { TimeWeightedWindowResult, WindowResult } from './window-math.js';

/** Spec-level options every instance of a window lane shares. */
export interface WindowOptions {
  readonly shape: WindowShape;
  readonly keep: number;
  /** Also keep time-weighted aggregates (see {@link TimeWeightedWindowResult}). */
  readonly timeWeighted: boolean;
  /** Sliding windows: samples kept at most (see `window({ maxSamples })`). */
  readonly maxSamples: number;
}

export type WindowShape =
  | { readonly kind: 'tumbling'; readonly size: number }
  | { readonly kind: 'hopping'; readonly size: number; readonly hop: number }
  | { readonly kind: 'sliding'; readonly size: number };

/**
 * Windows over another lane's value, on the twin's clock. The twin samples the source
 * once per turn in which it was written, with the value it settled on at the end of the
 * turn (what `onSet` sees), so a turn that sets a value and corrects it counts once.
 * Tumbling and hopping windows are keyed by start time (ms, as a string) and stay in the
 * lane after they close, the newest `keep` of them; a sliding window is one result over
 * the last `size` ms. Samples are `(time, value)` with time from the injected clock, so a
 * replay on a virtual clock closes the same windows as the live run did.
 *
 * Time-weighted lanes (`timeWeighted`) also weigh each value by how long it held (see
 * window-math.ts); their tumbling/hopping windows follow each other without gaps once a
 * value is known, so an hour without a sample still reports the value that held in it.
 *
 * The lane is persistent: open and closed windows (and a sliding window's samples) are
 * stored, so a restart neither loses nor double-counts a sample.
 */
const NO_SAMPLES: [number, number][] = [];
const EMPTY = new Map<string, WindowResult>();

export class WindowLane<R extends WindowResult = WindowResult> extends Lane {
  get kind(): 'window' {
    return 'window';
  }
  /** Allocated on the first sample: most twins of a model may never feed their window. */
  private windowMap: Map<string, WindowResult> | null = null;
  private samples: [number, number][] = NO_SAMPLES;
  /** Time-weighted sliding windows: the value of the newest sample that left the window. */
  private before: number | null = null;
  /**
   * Windows changed since the last write (see {@link WindowLane.collect}): one key as it is
   * (a step of samples usually changes only the current window), more in an array.
   */
  private dirtyKeys: string | string[] | null = null;
  /** Samples or open windows changed: the twin's record must be rewritten. */
  private recordDirty = false;
  /** The store holds closed windows of this lane as entries. */
  private entriesStored = false;
  /**
   * Keys of the windows not yet closed (see {@link SmallKeySet}), kept beside the map so that
   * what each sample and each write needs of the open windows (the next deadline, the
   * record) costs the one or two open windows, not every kept window: a sensor with
   * `keep: 48` hourly windows holds 48 closed ones after two days.
   */
  private openKeys: SmallKeySet = null;

  get shape(): WindowShape {
    return this.options.shape;
  }

  private get options(): WindowOptions {
    return (this.info as LaneInfo<WindowOptions>).options;
  }

  private get windows(): Map<string, WindowResult> {
    return this.windowMap ?? EMPTY;
  }

  private set windows(m: Map<string, WindowResult>) {
    this.windowMap = m;
  }

  /** Adds one sample taken at `time`. */
  add(time: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const weighted = this.options.timeWeighted;
    if (this.shape.kind === 'sliding') {
      // Sliding windows are small by design; copying the samples keeps rollback exact.
      this.noteSamples();
      if (this.samples === NO_SAMPLES) this.samples = [];
      this.samples.push([time, value]);
      this.evictBefore(time, false);
      // A source faster than the window's bound: the oldest samples leave before they age
      // out, so memory, the record and the work per sample stay within the bound.
      const over = this.samples.length - this.options.maxSamples;
      if (over > 0) {
        this.dropOldest(over);
        this.host.samplesDropped?.(this, over);
      }
      this.setSliding(time);
      return;
    }
    if (weighted) this.catchUp(time);
    const { size } = this.shape;
    const hop = this.shape.kind === 'hopping' ? this.shape.hop : size;
    const last = Math.floor(time / hop) * hop;
    for (let start = last; start > time - size; start -= hop) {
      const key = windowKey(start);
      const w =
        this.windows.get(key) ??
        (weighted ? emptyWeightedWindow(start, start + size, null, time) : emptyWindow(start, start + size));
      if (w.closed) continue; // a late sample for a window already reported
      this.put(key, weighted ? addWeightedSample(asWeighted(w), value) : addSample(w, value));
    }
    this.trim();
  }

  /** The earliest time at which something must happen without new samples (close or evict). */
  nextDeadline(): number | undefined {
    if (this.shape.kind === 'sliding') {
      const first = this.samples[0];
      return first ? first[0] + this.shape.size : undefined;
    }
    const keys = this.openKeys;
    if (keys === null) return undefined;
    if (typeof keys === 'string') return this.windows.get(keys)!.end;
    let due = Infinity;
    for (const key of keys) due = Math.min(due, this.windows.get(key)!.end);
    return due;
  }

  /** Closes the windows that ended at or before `now`; returns them oldest first. */
  advance(now: number): R[] {
    if (this.shape.kind === 'sliding') {
      if (this.evictBefore(now, true)) this.setSliding(now);
      return [];
    }
    // On the timer, new windows open with the held value only while a kept window saw a real
    // sample: a source that went quiet stops waking its twin after `keep` windows (a retired
    // device must not be loaded and written every hop forever); the next sample opens the
    // windows of the gap, and the next advance reports them.
    if (this.options.timeWeighted) this.catchUp(now, this.sampledRecently());
    const closed: WindowResult[] = [];
    // Oldest first, the order they are reported in (openWindows is in start order).
    for (const w of this.openWindows()) {
      if (w.end <= now) {
        const done = { ...w, closed: true };
        this.put(windowKey(w.start), done);
        closed.push(done);
      }
    }
    this.trim();
    return closed as R[];
  }

  /** Tumbling/hopping: the window with this start; sliding: the current result. */
  get(start?: number): R | undefined {
    if (this.shape.kind === 'sliding') return this.windows.get('current') as R | undefined;
    return start === undefined ? undefined : (this.windows.get(String(start)) as R | undefined);
  }

  /** Closed windows, oldest first. */
  closedWindows(): R[] {
    return [...this.windows.values()].filter((w) => w.closed).sort((a, b) => a.start - b.start) as R[];
  }

  syncEvents(): LaneEvent[] {
    if (this.shape.kind === 'sliding') return [{ type: 'value', value: this.windows.get('current') ?? null }];
    return [...this.windows].map(([key, value]) => ({ type: 'update', key, value }) as const);
  }

  toJSON(): unknown {
    if (this.shape.kind === 'sliding') return this.windows.get('current') ?? null;
    return Object.fromEntries(this.windows);
  }

  restore(stored: StoredTwin, _from?: number, _to?: number): void {
    const merged = new Map<string, WindowResult>();
    const closed = stored.entries.get(this.name);
    if (closed) {
      for (const [key, w] of closed) merged.set(key, w as WindowResult);
      this.entriesStored = closed.size > 0;
    }
    const raw = stored.values[this.name];
    if (Array.isArray(raw)) {
      this.restoreSamples(raw as [number, number][]); // written before open windows moved into the record
    } else if (raw !== null && typeof raw === 'object') {
      const record = raw as WindowRecord;
      if (typeof record.before === 'number') this.before = record.before;
      if (record.samples) this.restoreSamples(record.samples);
      for (const w of record.open ?? []) merged.set(this.shape.kind === 'sliding' ? 'current' : String(w.start), w);
    }
    if (merged.size === 0) return;
    // In start order; usually already so (closed windows come in key order, the open ones
    // after them), and then the map is kept as it is rather than copied in order.
    let last = -Infinity;
    let ordered = true;
    for (const w of merged.values()) {
      if (!(w.start >= last)) {
        ordered = false;
        break;
      }
      last = w.start;
    }
    this.windows = ordered ? merged : new Map([...merged].sort((a, b) => a[1].start - b[1].start));
    this.openKeys = null;
    for (const [key, w] of this.windows) if (!w.closed) this.openKeys = withKey(this.openKeys, key);
  }

  /**
   * Closed windows are entries, written once when they close and deleted when trimmed.
   * Open windows (the ones every sample changes) and a sliding window's samples live in
   * the twin's record, which is rewritten on each change anyway: a sample then costs no
   * write of its own.
   */
  collect(out: StateWrite[]): boolean {
    const dirty = this.dirtyKeys;
    if (dirty === null) {
      const recordDirty = this.recordDirty;
      this.recordDirty = false;
      return recordDirty;
    }
    this.dirtyKeys = null;
    this.recordDirty = false;
    // Every dirty window changes the record: an open one is in it, a closed or trimmed one may have been.
    let deleted = false;
    if (typeof dirty === 'string') deleted = this.collectKey(out, dirty);
    else for (const key of dirty) if (this.collectKey(out, key)) deleted = true;
    if (deleted) {
      this.entriesStored = false;
      for (const w of this.windows.values()) if (w.closed) this.entriesStored = true;
    }
    return true;
  }

  /** {@link collect} without the writes: the same bookkeeping (see Lane.discardChanges). */
  override discardChanges(): boolean {
    const dirty = this.dirtyKeys;
    const recordDirty = this.recordDirty;
    this.dirtyKeys = null;
    this.recordDirty = false;
    if (dirty === null) return recordDirty;
    let deleted = false;
    if (typeof dirty === 'string') deleted = this.noteStored(dirty);
    else for (const key of dirty) if (this.noteStored(key)) deleted = true;
    if (deleted) {
      this.entriesStored = false;
      for (const w of this.windows.values()) if (w.closed) this.entriesStored = true;
    }
    return true;
  }

  /** Closed windows, as {@link collect} has stored them. */
  override storedEntries(): Map<string, unknown> | undefined {
    let out: Map<string, unknown> | undefined;
    for (const [key, w] of this.windows) if (w.closed) (out ??= new Map()).set(key, w);
    return out;
  }

  /** {@link collectKey}'s bookkeeping without the write; true when the window was deleted. */
  private noteStored(key: string): boolean {
    const w = this.windows.get(key);
    if (w === undefined) return true;
    if (w.closed) this.entriesStored = true;
    return false;
  }

  /** The entry write of one dirty window, if any; true when it was deleted (trimmed). */
  private collectKey(out: StateWrite[], key: string): boolean {
    const w = this.windows.get(key);
    if (w === undefined) {
      out.push({ op: 'del', path: this.host.path, lane: this.name, key });
      return true;
    }
    if (w.closed) {
      out.push({ op: 'put', path: this.host.path, lane: this.name, key, value: w });
      this.entriesStored = true;
    }
    return false;
  }

  override hasEntries(): boolean {
    return this.entriesStored;
  }

  override recordValue(): unknown {
    const open = this.openKeys === null ? undefined : this.openWindows();
    const sliding = this.shape.kind === 'sliding';
    const before = sliding && this.before !== null;
    if (!open && !(sliding && this.samples.length > 0) && !before) return undefined;
    const record: WindowRecord = {};
    if (sliding) record.samples = this.samples.slice();
    if (before) record.before = this.before!;
    if (open) record.open = open;
    return record;
  }

  revert(key: string | undefined, old: unknown, existed: boolean): void {
    if (key === undefined) {
      const state = old as SlidingState;
      this.samples = state.samples;
      this.before = state.before ?? null;
      return;
    }
    if (existed) {
      (this.windowMap ??= new Map()).set(key, old);
      this.trackOpen(key, old as WindowResult);
    } else {
      this.windowMap?.delete(key);
      this.openKeys = withoutKey(this.openKeys, key);
    }
  }

  changeEvent(key: string | undefined): LaneEvent {
    if (this.shape.kind === 'sliding') return { type: 'value', value: this.windows.get('current') ?? null };
    const w = key === undefined ? undefined : this.windows.get(key);
    return w ? { type: 'update', key: key!, value: w } : { type: 'remove', key: key ?? '' };
  }

  /**
   * Time-weighted tumbling/hopping windows, brought up to `now`: the windows that began
   * since the newest one are opened with the value held (a gap longer than the kept
   * windows opens only those that can be kept), and every open window accounts the value
   * it held up to `now`.
   */
  private catchUp(now: number, open = true): void {
    const shape = this.shape;
    if (shape.kind === 'sliding') return;
    const hop = shape.kind === 'hopping' ? shape.hop : shape.size;
    let newest: TimeWeightedWindowResult | undefined;
    for (const w of this.windows.values()) if (!newest || w.start > newest.start) newest = asWeighted(w);
    const held = newest?.last ?? null;
    if (open && newest && held !== null) {
      let start = newest.start + hop;
      const lastStart = Math.floor(now / hop) * hop;
      const span = this.options.keep * hop + shape.size; // older windows would be trimmed at once
      if (lastStart - start > span) start = lastStart - Math.floor(span / hop) * hop;
      for (; start <= now; start += hop) {
        const key = windowKey(start);
        if (!this.windows.has(key)) this.put(key, emptyWeightedWindow(start, start + shape.size, held, start));
      }
    }
    for (const w of this.openWindows()) {
      const after = extendWindow(asWeighted(w), now);
      if (after !== w) this.put(windowKey(w.start), after);
    }
  }

  /** True while one of the kept windows holds a real sample (not only a held value). */
  private sampledRecently(): boolean {
    for (const w of this.windows.values()) if (w.count > 0) return true;
    return false;
  }

  private put(key: string, w: WindowResult): void {
    const windows = (this.windowMap ??= new Map());
    const old = windows.get(key); // stored values are never undefined
    windows.set(key, w);
    this.trackOpen(key, w);
    this.markDirty(key);
    this.host.noteChange(this, key, old, old !== undefined);
  }

  /** Keeps {@link openKeys} in step with the map, as window `key` becomes `w`. */
  private trackOpen(key: string, w: WindowResult): void {
    this.openKeys = w.closed ? withoutKey(this.openKeys, key) : withKey(this.openKeys, key);
  }

  /** The windows not yet closed, in start order (a fresh array: callers may put while walking it). */
  private openWindows(): WindowResult[] {
    const keys = this.openKeys;
    if (keys === null) return [];
    const windows = this.windows;
    if (typeof keys === 'string') return [windows.get(keys)!];
    const out = keys.map((k) => windows.get(k)!);
    return out.sort((a, b) => a.start - b.start);
  }

  /** A key, then a short array, not a Set: a step dirties one or two windows, and this runs per sample. */
  private markDirty(key: string): void {
    this.dirtyKeys = withKey(this.dirtyKeys, key);
  }

  /** Drops the windows with the earliest starts beyond `keep`. */
  private trim(): void {
    while (this.windows.size > this.options.keep) {
      let oldest: string | undefined;
      let oldestStart = Infinity;
      for (const [key, w] of this.windows) {
        if (w.start < oldestStart) {
          oldest = key;
          oldestStart = w.start;
        }
      }
      const old = this.windows.get(oldest!);
      this.windowMap!.delete(oldest!);
      this.openKeys = withoutKey(this.openKeys, oldest!);
      this.markDirty(oldest!);
      this.host.noteChange(this, oldest, old, true);
    }
  }

  /** A sliding window's samples (and held value) are about to change: rollback restores this copy. */
  private noteSamples(): void {
    // The held value only where it exists: journal entries of other lanes keep their shape.
    const state: SlidingState = this.options.timeWeighted
      ? { samples: this.samples.slice(), before: this.before }
      : { samples: this.samples.slice() };
    this.host.noteChange(this, undefined, state, true);
    this.recordDirty = true;
  }

  /** Drops sliding samples older than `now - size`; true when any went. */
  private evictBefore(now: number, note: boolean): boolean {
    const cutoff = now - this.shape.size;
    let n = 0;
    while (n < this.samples.length && this.samples[n]![0] <= cutoff) n++;
    if (n === 0) return false;
    if (note) this.noteSamples();
    this.dropOldest(n);
    return true;
  }

  /**
   * Stored sliding samples, kept within the bound from the start (a record of an older build,
   * or a bound lowered since): the next sample would otherwise report the excess as dropped
   * by a flood.
   */
  private restoreSamples(stored: readonly [number, number][]): void {
    const over = stored.length - this.options.maxSamples;
    if (over > 0 && this.options.timeWeighted) this.before = stored[over - 1]![1];
    this.samples = stored.slice(Math.max(0, over));
  }

  /** Drops the `n` oldest sliding samples (the newest of them is the value held before the rest). */
  private dropOldest(n: number): void {
    this.recordDirty = true;
    if (this.options.timeWeighted) this.before = this.samples[n - 1]![1];
    this.samples.splice(0, n);
  }

  private setSliding(now: number): void {
    this.put('current', slidingResult(this.samples, now, this.shape.size, this.options.timeWeighted, this.before));
  }
}

/** What rollback of a sliding window's samples restores. */
interface SlidingState {
  samples: [number, number][];
  before?: number | null;
}

/**
 * The map key of the window starting at `start`. Live samples of every twin fall in the
 * same few windows, so remembering the last conversion saves a string per sample.
 */
let lastStart = NaN;
let lastKey = '';
function windowKey(start: number): string {
  if (start !== lastStart) {
    lastStart = start;
    lastKey = String(start);
  }
  return lastKey;
}

/**
 * A set of window keys as small as it usually is: none (null), one (the key), or an array
 * (hopping windows overlap, so `size / hop` of them are open at once; a step dirties one or
 * two). The open keys and the dirty keys are both kept so.
 */
type SmallKeySet = string | string[] | null;

function withKey(keys: SmallKeySet, key: string): SmallKeySet {
  if (keys === null || keys === key) return key;
  if (typeof keys === 'string') return [keys, key];
  if (!keys.includes(key)) keys.push(key);
  return keys;
}

function withoutKey(keys: SmallKeySet, key: string): SmallKeySet {
  if (keys === null || keys === key) return null;
  if (typeof keys === 'string') return keys;
  const i = keys.indexOf(key);
  if (i < 0) return keys;
  if (keys.length === 2) return keys[1 - i]!;
  keys.splice(i, 1);
  return keys;
}

/** What a window lane keeps in its twin's record. */
interface WindowRecord {
  samples?: [number, number][];
  /** Time-weighted sliding windows: the value held when the window starts. */
  before?: number;
  open?: WindowResult[];
}
