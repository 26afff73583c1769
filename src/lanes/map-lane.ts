import type { LaneEvent, LaneKind } from './events.js';
import { Lane, type LaneHost, type LaneInfo } from './lane.js';
import { assertStorable } from '../store/plain-data.js';
import {
  decodeInline,
  encodedFitsInline,
  encodeInline,
  INLINE_MAX_BYTES,
  INLINE_MAX_ENTRIES,
  layoutMoves,
  storedInline,
  type InlineEntries,
} from './inline-entries.js';

/** Spec-level options every instance of a map (or join) lane shares. */
export interface MapOptions<V> {
  readonly equals: (a: V, b: V) => boolean;
}
import type { StateWrite, StoredTwin } from '../store/state-store.js';

/**
 * String-keyed entries with per-key change events (`update`, `remove`, `clear`).
 * A small map is stored in its twin's record (see inline-entries.ts); a large one per
 * key, so it costs one write per changed key, not a rewrite.
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
  /**
   * Where the store holds the entries as of the last {@link collect}: true in the twin's
   * record (`$in`), false as entries. A lane with nothing stored starts inline.
   */
  private inline = true;
  /**
   * The record form {@link collect} built to test the bound, for the record write that
   * follows it in the same commit ({@link inlineEntries}); null once taken or changed.
   */
  private encoded: InlineEntries | null = null;

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

  /** Entries outside the record: the lane is stored as entries and has some. */
  override hasEntries(): boolean {
    return !this.inline && this.entries.size > 0;
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
    const old = this.entries.get(key);
    // One lookup when the key is there with a value (every join update of a known child).
    const existed = old !== undefined || this.entries.has(key);
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
    this.restoreEntries(stored);
  }

  /**
   * Loads the stored entries, from the record's `$in` and from entries (a lane's writes
   * keep them in one place or the other, in one batch, so at most one holds any); `key`
   * maps each stored key to the string to keep (see JoinLane.restore).
   */
  protected restoreEntries(stored: StoredTwin, key?: (full: string) => string): void {
    const inline = storedInline(stored, this.name);
    if (inline) decodeInline(inline, this.host.path, this.entries, key);
    const m = stored.entries.get(this.name);
    // Stored as entries: it stays so until its next write, which moves it into the record
    // if it is small (a directory written before records held entries upgrades that way).
    this.inline = m === undefined;
    if (!m) return;
    if (key) for (const [k, v] of m) this.entries.set(key(k), v as V);
    else for (const [k, v] of m) this.entries.set(k, v as V);
  }

  /**
   * Hands over what changed since the last call. Inline (small): the record changed, no
   * entry writes. As entries: a put or delete per changed key. Moving between the two is
   * part of the same batch: out of the record, every entry is put; into it, every key
   * the store may hold as an entry (those held now, and those changed since the last
   * write, removed ones included) is deleted by name.
   */
  collect(out: StateWrite[]): boolean {
    const dirty = this.dirtyKeys;
    if (dirty === null) return false;
    this.dirtyKeys = null;
    const wasInline = this.inline;
    const maxEntries = wasInline ? INLINE_MAX_ENTRIES : INLINE_MAX_ENTRIES / 2;
    let encoded: InlineEntries | null = null;
    if (this.entries.size <= maxEntries) {
      encoded = encodeInline(this.entries, this.relativeTo());
      if (!encodedFitsInline(encoded, maxEntries, wasInline ? INLINE_MAX_BYTES : INLINE_MAX_BYTES / 2)) encoded = null;
    }
    const fits = encoded !== null;
    this.inline = fits;
    this.encoded = encoded;
    if (wasInline && fits) return true;
    if (wasInline !== fits) layoutMoves.count++;
    const path = this.host.path;
    if (wasInline) {
      for (const [key, value] of this.entries) out.push({ op: 'put', path, lane: this.name, key, value });
      return true;
    }
    if (fits) {
      for (const key of this.entries.keys()) out.push({ op: 'del', path, lane: this.name, key });
      if (typeof dirty === 'string') this.deleteRemoved(out, dirty);
      else for (const key of dirty) this.deleteRemoved(out, key);
      return true;
    }
    if (typeof dirty === 'string') this.collectKey(out, dirty);
    else for (const key of dirty) this.collectKey(out, key);
    return false;
  }

  /**
   * Forgets the changes (a store that reads the live lane, see Lane.discardChanges). The
   * layout stays as it is, past the bounds too: that store reads the lane through
   * committedState in whichever layout it has (`$in` or entries, consistently), and the
   * layout moves only at a {@link collect} of a change, so a held twin that stops without
   * changing this lane in its last step keeps it as it was.
   */
  override discardChanges(): boolean {
    const changed = this.dirtyKeys !== null;
    this.dirtyKeys = null;
    return changed && this.inline;
  }

  /** Entries stored as entries (not in the record), as a new map. */
  override storedEntries(): Map<string, unknown> | undefined {
    return !this.inline && this.entries.size > 0 ? new Map(this.entries) : undefined;
  }

  /** The record's `$in` form of the entries while the lane is stored in the record (see inline-entries.ts). */
  override inlineEntries(): InlineEntries | undefined {
    if (!this.inline || this.entries.size === 0) return undefined;
    const encoded = this.encoded;
    if (encoded === null) return encodeInline(this.entries, this.relativeTo());
    this.encoded = null; // the record keeps it: never changed here
    return encoded;
  }

  /** The path every key is under, stored relative to it; null for keys as they are (see JoinLane). */
  protected relativeTo(): string | null {
    return null;
  }

  private collectKey(out: StateWrite[], key: string): void {
    const path = this.host.path;
    if (this.entries.has(key)) out.push({ op: 'put', path, lane: this.name, key, value: this.entries.get(key) });
    else out.push({ op: 'del', path, lane: this.name, key });
  }

  /** A delete of `key` when it was removed (a key still held is deleted with the others). */
  private deleteRemoved(out: StateWrite[], key: string): void {
    if (!this.entries.has(key)) out.push({ op: 'del', path: this.host.path, lane: this.name, key });
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
    this.encoded = null;
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
