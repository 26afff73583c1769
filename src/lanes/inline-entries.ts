import type { StoredTwin } from '../store/state-store.js';

/**
 * Where a small keyed lane (map, join) keeps its entries: in its twin's record, under the
 * record field `$in` (`{ [lane]: [relative, key, value, key, value, …] }`), instead of one
 * store entry per key. A room's join of its four sensors, or a unit's joins of its ten
 * rooms, then cost no entry write at all: the record is rewritten in the same commit
 * anyway whenever the aggregates the join feeds changed, and one put of a slightly larger
 * record is far cheaper than a put per changed child (issue 18: join entries were 0.57 of
 * the 1.50 writes per event of the building model). A lane leaves the record for entries
 * once it holds more than {@link INLINE_MAX_ENTRIES} entries or about
 * {@link INLINE_MAX_BYTES} bytes, so a large map still costs one put per changed key and
 * never a rewrite; it comes back once it shrank to half of both (the gap keeps a lane at
 * the edge from moving on every commit).
 *
 * `relative` (1 or 0): the keys are child paths stored without the twin's own path and
 * the `/` after it (`sensors/climate` under a room), which keeps a unit's record of thirty
 * entries a few hundred bytes. Lane names cannot start with `$`, so `$in` never collides
 * with a lane.
 */
export const INLINE_FIELD = '$in';
export const INLINE_MAX_ENTRIES = 32;
export const INLINE_MAX_BYTES = 1024;

/**
 * Moves of a lane between the record and entries, counted as lanes collect (one thread's
 * count: a step collects synchronously). A move rewrites where every entry of the lane is
 * stored, so a later commit built on it must not reach the store unless it committed (see
 * GroupCommit: a commit holding a move holds back the steps after it until it settled).
 */
export const layoutMoves = { count: 0 };

/** The stored form of one lane's inline entries (see the file comment). */
export type InlineEntries = unknown[];

/** The inline entries a stored record holds for `lane`, if any. */
export function storedInline(stored: StoredTwin, lane: string): InlineEntries | undefined {
  const field = stored.values[INLINE_FIELD];
  if (field === null || typeof field !== 'object' || Array.isArray(field)) return undefined;
  if (!Object.prototype.hasOwnProperty.call(field, lane)) return undefined;
  const entries = (field as Record<string, unknown>)[lane];
  return Array.isArray(entries) && entries.length % 2 === 1 ? entries : undefined;
}

/**
 * True when entries in their record form (see {@link encodeInline}) may stay in (or move
 * into) the record: at most `maxEntries` of them and about `maxBytes` of keys and values
 * as msgpack would hold them. Stops walking as soon as either bound is passed. (Lanes
 * encode first and test the encoding, which the record then takes as it is; the lean
 * yardstick decides with the same function.)
 */
export function encodedFitsInline(encoded: InlineEntries, maxEntries: number, maxBytes: number): boolean {
  if ((encoded.length - 1) / 2 > maxEntries) return false;
  let budget = maxBytes;
  for (let i = 1; i + 1 < encoded.length; i += 2) {
    budget -= (encoded[i] as string).length + 1;
    budget = sizeWithin(encoded[i + 1], budget);
    if (budget < 0) return false;
  }
  return true;
}

/**
 * The record form of `entries` (see the file comment). With `relativeTo`, every key must
 * be a path under it (the caller knows: see JoinLane) and is stored without it and the `/`.
 */
export function encodeInline(entries: ReadonlyMap<string, unknown>, relativeTo: string | null): InlineEntries {
  const out: unknown[] = [relativeTo === null ? 0 : 1];
  if (relativeTo === null) entries.forEach((value, key) => out.push(key, value));
  else {
    const cut = relativeTo.length + 1;
    entries.forEach((value, key) => out.push(key.slice(cut), value));
  }
  return out;
}

/**
 * Adds stored inline entries to `into`; `key` maps each full key to the string to keep
 * (a join keeps a live child's own path string, see JoinLane.restore).
 */
export function decodeInline<V>(
  stored: InlineEntries,
  path: string,
  into: Map<string, V>,
  key: (full: string) => string = (k) => k,
): void {
  const prefix = stored[0] === 1 ? path + '/' : '';
  for (let i = 1; i + 1 < stored.length; i += 2) {
    const k = stored[i];
    if (typeof k !== 'string') continue; // not what a lane wrote: left out, like an undecodable field
    into.set(key(prefix === '' ? k : prefix + k), stored[i + 1] as V);
  }
}

/** True when `key` is a path under `path` (which it can then be stored relative to). */
export function isUnder(key: string, path: string): boolean {
  return key.length > path.length + 1 && key.charCodeAt(path.length) === 47 /* / */ && key.startsWith(path);
}

/** `budget` less about what msgpack takes for `value`; stops (negative) once past it. */
function sizeWithin(value: unknown, budget: number): number {
  if (budget < 0) return budget;
  switch (typeof value) {
    case 'string':
      return budget - value.length - 2;
    case 'object': {
      if (value === null) return budget - 1;
      if (Array.isArray(value)) {
        budget -= 2;
        for (let i = 0; i < value.length && budget >= 0; i++) budget = sizeWithin(value[i], budget);
        return budget;
      }
      if (ArrayBuffer.isView(value)) return budget - value.byteLength - 4;
      // Lanes may keep a Map (assertStorable takes it as it is), which holds its members where
      // `for…in` sees none; a Set is counted too, though lanes refuse one now.
      if (value instanceof Map) {
        budget -= 3;
        for (const [k, v] of value) {
          budget = sizeWithin(v, sizeWithin(k, budget));
          if (budget < 0) return budget;
        }
        return budget;
      }
      if (value instanceof Set) {
        budget -= 3;
        for (const v of value) {
          budget = sizeWithin(v, budget);
          if (budget < 0) return budget;
        }
        return budget;
      }
      if (value instanceof Date) return budget - 12;
      budget -= 2;
      for (const k in value) {
        budget -= k.length + 1;
        budget = sizeWithin((value as Record<string, unknown>)[k], budget);
        if (budget < 0) return budget;
      }
      return budget;
    }
    case 'number':
      return budget - 9;
    default:
      return budget - 1;
  }
}
