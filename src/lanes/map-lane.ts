import type { LaneEvent, LaneKind } from './events.js';
import { Lane, type LaneHost, type LaneInfo } from './lane.js';
import { assertStorable } from '../store/plain-data.js';

/** Spec-level options every instance of a map (or join) lane shares. */
export interface MapOptions<V> {
  readonly equals: (a: V, b: V) => boolean;
}
import type { StateWrite, StoredTwin } from '../store/state-store.js';

/**
 * String-keyed entries with per-key change events (`update`, `remove`, `clear`).
 * Persistence is per key, so a large map costs one write per changed key, not a rewrite.
 *
 * @example
 * ```ts
 * ctx.lanes.readings.update('co2', 650);
 * ctx.lanes.readings.remove('co2');
 * ```
 */
export class MapLane<V> extends Lane {
  get kind(): LaneKind {
    return 'map';
  }
  protected entries = new Map<string, V>();
  /**
   * Keys changed since the last collect: one key as it is, an array while short (the common
   * case), a Set once long.
   */
  private dirtyKeys: string | string[] | Set<string> | null = null;

  constructor(info: LaneInfo<MapOptions<V>>, host: LaneHost) {
    super(info, host);
  }

  protected get equalsFn(): (a: V, b: V) => boolean {
    return (this.info as LaneInfo<MapOptions<V>>).options.equals;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  override hasEntries(): boolean {
    return this.entries.size > 0;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  /** Entries in insertion order. */
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries.entries();
  }

  /** Sets `key` to `value`; returns true when that changed the entry. */
  update(key: string, value: V): boolean {
    if (typeof key !== 'string') throw new TypeError(`map lane "${this.name}" keys are strings`);
    const existed = this.entries.has(key);
    const old = this.entries.get(key);
    if (existed && this.equalsFn(old as V, value)) return false;
    assertStorable(value, this.host.path, this.name, key);
    this.entries.set(key, value);
    this.markDirty(key);
    this.host.noteChange(this, key, old, existed);
    this.host.afterEntry(this, key, value, old, false);
    return true;
  }

  /** Removes `key`; returns true when it was there. */
  remove(key: string): boolean {
    if (!this.entries.has(key)) return false;
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.markDirty(key);
    this.host.noteChange(this, key, old, true);
    this.host.afterEntry(this, key, undefined, old, true);
    return true;
  }

  clear(): void {
    if (this.entries.size === 0) return;
    const old = this.entries;
    this.entries = new Map();
    // Each stored key is deleted by name: stores need no range delete, which could not
    // see writes of a batch still in flight.
    for (const key of old.keys()) this.markDirty(key);
    this.host.noteChange(this, undefined, old, true);
  }

  syncEvents(): LaneEvent[] {
    const events: LaneEvent[] = [];
    for (const [key, value] of this.entries) events.push({ type: 'update', key, value });
    return events;
  }

  toJSON(): unknown {
    return Object.fromEntries(this.entries);
  }

  restore(stored: StoredTwin, _from?: number, _to?: number): void {
    const m = stored.entries.get(this.name);
    if (m) for (const [k, v] of m) this.entries.set(k, v as V);
  }

  collect(out: StateWrite[]): boolean {
    const dirty = this.dirtyKeys;
    if (dirty === null) return false;
    this.dirtyKeys = null;
    if (typeof dirty === 'string') this.collectKey(out, dirty);
    else for (const key of dirty) this.collectKey(out, key);
    return false;
  }

  override discardChanges(): boolean {
    this.dirtyKeys = null;
    return false;
  }

  override storedEntries(): Map<string, unknown> | undefined {
    return this.entries.size > 0 ? new Map(this.entries) : undefined;
  }

  private collectKey(out: StateWrite[], key: string): void {
    const path = this.host.path;
    if (this.entries.has(key)) out.push({ op: 'put', path, lane: this.name, key, value: this.entries.get(key) });
    else out.push({ op: 'del', path, lane: this.name, key });
  }

  revert(key: string | undefined, old: unknown, existed: boolean): void {
    if (key === undefined) {
      this.entries = old as Map<string, V>;
      return;
    }
    if (existed) this.entries.set(key, old as V);
    else this.entries.delete(key);
  }

  changeEvent(key: string | undefined): LaneEvent {
    if (key === undefined) return { type: 'clear' };
    return this.entries.has(key) ? { type: 'update', key, value: this.entries.get(key) } : { type: 'remove', key };
  }

  private markDirty(key: string): void {
    const keys = this.dirtyKeys;
    if (keys === null) this.dirtyKeys = key;
    else if (typeof keys === 'string') {
      if (keys !== key) this.dirtyKeys = [keys, key];
    } else if (!Array.isArray(keys)) keys.add(key);
    else if (!keys.includes(key)) {
      keys.push(key);
      if (keys.length > 16) this.dirtyKeys = new Set(keys);
    }
  }
}
