import type { LaneEvent } from './events.js';
import { Lane, type LaneInfo } from './lane.js';

/** Spec-level options every instance of a window lane shares. */
export interface WindowOptions {
  readonly shape: WindowShape;
  readonly keep: number;
}
import type { StateWrite, StoredTwin } from '../store/state-store.js';

/** Aggregates of one window. `avg`, `min`, `max` are null while `count` is 0. */
export interface WindowResult {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly sum: number;
  readonly avg: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** True once the clock passed `end` (tumbling and hopping windows). */
  readonly closed: boolean;
}

export type WindowShape =
  | { readonly kind: 'tumbling'; readonly size: number }
  | { readonly kind: 'hopping'; readonly size: number; readonly hop: number }
  | { readonly kind: 'sliding'; readonly size: number };

/**
 * Windows over the numeric writes of another lane, on the twin's clock. Tumbling and
 * hopping windows are keyed by start time (ms, as a string) and stay in the lane after
 * they close, the newest `keep` of them; a sliding window is one result over the last
 * `size` ms. Samples are `(time, value)` with time from the injected clock, so a replay
 * on a virtual clock closes the same windows as the live run did.
 *
 * The lane is persistent: open and closed windows (and a sliding window's samples) are
 * stored, so a restart neither loses nor double-counts a sample.
 */
const NO_SAMPLES: [number, number][] = [];
const EMPTY = new Map<string, WindowResult>();

export class WindowLane extends Lane {
  get kind(): 'window' {
    return 'window';
  }
  /** Allocated on the first sample: most twins of a model may never feed their window. */
  private windowMap: Map<string, WindowResult> | null = null;
  private samples: [number, number][] = NO_SAMPLES;
  /** Windows changed since the last write (see {@link WindowLane.collect}). */
  private dirtyKeys: string[] | null = null;
  /** Samples or open windows changed: the twin's record must be rewritten. */
  private recordDirty = false;
  /** The store holds closed windows of this lane as entries. */
  private entriesStored = false;

  get shape(): WindowShape {
    return (this.info as LaneInfo<WindowOptions>).options.shape;
  }

  private get keep(): number {
    return (this.info as LaneInfo<WindowOptions>).options.keep;
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
    if (this.shape.kind === 'sliding') {
      // Sliding windows are small by design; copying the samples keeps rollback exact.
      this.host.noteChange(this, undefined, { samples: this.samples.slice() }, true);
      this.recordDirty = true;
      if (this.samples === NO_SAMPLES) this.samples = [];
      this.samples.push([time, value]);
      this.evictBefore(time, false);
      this.setSliding(time);
      return;
    }
    const { size } = this.shape;
    const hop = this.shape.kind === 'hopping' ? this.shape.hop : size;
    const last = Math.floor(time / hop) * hop;
    for (let start = last; start > time - size; start -= hop) {
      const key = windowKey(start);
      const w = this.windows.get(key) ?? emptyWindow(start, start + size);
      if (w.closed) continue; // a late sample for a window already reported
      this.put(key, addSample(w, value));
    }
    this.trim();
  }

  /** The earliest time at which something must happen without new samples (close or evict). */
  nextDeadline(): number | undefined {
    if (this.shape.kind === 'sliding') {
      const first = this.samples[0];
      return first ? first[0] + this.shape.size : undefined;
    }
    let due: number | undefined;
    for (const w of this.windows.values()) if (!w.closed && (due === undefined || w.end < due)) due = w.end;
    return due;
  }

  /** Closes the windows that ended at or before `now`; returns them oldest first. */
  advance(now: number): WindowResult[] {
    if (this.shape.kind === 'sliding') {
      if (this.evictBefore(now, true)) this.setSliding(now);
      return [];
    }
    const closed: WindowResult[] = [];
    for (const [key, w] of this.windows) {
      if (!w.closed && w.end <= now) {
        const done = { ...w, closed: true };
        this.put(key, done);
        closed.push(done);
      }
    }
    return closed.sort((a, b) => a.start - b.start);
  }

  /** Tumbling/hopping: the window with this start; sliding: the current result. */
  get(start?: number): WindowResult | undefined {
    if (this.shape.kind === 'sliding') return this.windows.get('current');
    return start === undefined ? undefined : this.windows.get(String(start));
  }

  /** Closed windows, oldest first. */
  closedWindows(): WindowResult[] {
    return [...this.windows.values()].filter((w) => w.closed).sort((a, b) => a.start - b.start);
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
      this.samples = (raw as [number, number][]).slice(); // written before open windows moved into the record
    } else if (raw !== null && typeof raw === 'object') {
      const record = raw as WindowRecord;
      if (record.samples) this.samples = record.samples.slice();
      for (const w of record.open ?? []) merged.set(this.shape.kind === 'sliding' ? 'current' : String(w.start), w);
    }
    if (merged.size > 0) this.windows = new Map([...merged].sort((a, b) => a[1].start - b[1].start));
  }

  /**
   * Closed windows are entries, written once when they close and deleted when trimmed.
   * Open windows (the ones every sample changes) and a sliding window's samples live in
   * the twin's record, which is rewritten on each change anyway: a sample then costs no
   * write of its own.
   */
  collect(out: StateWrite[]): boolean {
    let recordDirty = this.recordDirty;
    this.recordDirty = false;
    const keys = this.dirtyKeys;
    if (!keys) return recordDirty;
    this.dirtyKeys = null;
    const path = this.host.path;
    let deleted = false;
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w === undefined) {
        out.push({ op: 'del', path, lane: this.name, key });
        deleted = true;
        recordDirty = true; // it may have been an open window in the record
      } else if (w.closed) {
        out.push({ op: 'put', path, lane: this.name, key, value: w });
        this.entriesStored = true;
        recordDirty = true; // no longer among the record's open windows
      } else {
        recordDirty = true;
      }
    }
    if (deleted) {
      this.entriesStored = false;
      for (const w of this.windows.values()) if (w.closed) this.entriesStored = true;
    }
    return recordDirty;
  }

  override hasEntries(): boolean {
    return this.entriesStored;
  }

  override recordValue(): unknown {
    let open: WindowResult[] | undefined;
    if (this.windowMap) for (const w of this.windowMap.values()) if (!w.closed) (open ??= []).push(w);
    const sliding = this.shape.kind === 'sliding';
    if (!open && !(sliding && this.samples.length > 0)) return undefined;
    const record: WindowRecord = {};
    if (sliding) record.samples = this.samples.slice();
    if (open) record.open = open;
    return record;
  }

  revert(key: string | undefined, old: unknown, existed: boolean): void {
    if (key === undefined) {
      this.samples = (old as { samples: [number, number][] }).samples;
      return;
    }
    if (existed) (this.windowMap ??= new Map()).set(key, old);
    else this.windowMap?.delete(key);
  }

  changeEvent(key: string | undefined): LaneEvent {
    if (this.shape.kind === 'sliding') return { type: 'value', value: this.windows.get('current') ?? null };
    const w = key === undefined ? undefined : this.windows.get(key);
    return w ? { type: 'update', key: key!, value: w } : { type: 'remove', key: key ?? '' };
  }

  private put(key: string, w: WindowResult): void {
    const windows = (this.windowMap ??= new Map());
    const old = windows.get(key); // stored values are never undefined
    windows.set(key, w);
    this.markDirty(key);
    this.host.noteChange(this, key, old, old !== undefined);
  }

  /** A short array, not a Set: a step dirties one or two windows, and this runs per sample. */
  private markDirty(key: string): void {
    const keys = (this.dirtyKeys ??= []);
    if (!keys.includes(key)) keys.push(key);
  }

  private trim(): void {
    while (this.windows.size > this.keep) {
      const oldest = this.windows.keys().next().value as string;
      const old = this.windows.get(oldest);
      this.windowMap!.delete(oldest);
      this.markDirty(oldest);
      this.host.noteChange(this, oldest, old, true);
    }
  }

  /** Drops sliding samples older than `now - size`; true when any went. */
  private evictBefore(now: number, note: boolean): boolean {
    const cutoff = now - this.shape.size;
    let n = 0;
    while (n < this.samples.length && this.samples[n]![0] <= cutoff) n++;
    if (n === 0) return false;
    if (note) this.host.noteChange(this, undefined, { samples: this.samples.slice() }, true);
    this.recordDirty = true;
    this.samples.splice(0, n);
    return true;
  }

  private setSliding(now: number): void {
    let w = emptyWindow(now - this.shape.size, now);
    for (const [, v] of this.samples) w = addSample(w, v);
    this.put('current', w);
  }
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

/** What a window lane keeps in its twin's record. */
interface WindowRecord {
  samples?: [number, number][];
  open?: WindowResult[];
}

function emptyWindow(start: number, end: number): WindowResult {
  return { start, end, count: 0, sum: 0, avg: null, min: null, max: null, closed: false };
}

function addSample(w: WindowResult, v: number): WindowResult {
  const count = w.count + 1;
  const sum = w.sum + v;
  return {
    start: w.start, end: w.end, count, sum, avg: sum / count,
    min: w.min === null || v < w.min ? v : w.min,
    max: w.max === null || v > w.max ? v : w.max,
    closed: false,
  };
}
