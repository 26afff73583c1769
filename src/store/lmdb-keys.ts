/**
 * Key layout of the LMDB store. Keys are strings whose string order must be the order the
 * store reads them in: fixed-width decimals for times and sequence numbers, and U+001F
 * (␟) between the parts of a composite key. Paths cannot contain control characters
 * (TwinPath rejects them), which makes U+001F an unambiguous separator. (Not U+0000:
 * lmdb-js reads string keys holding several U+0000 as composite array keys.)
 *
 * @example
 * ```ts
 * entryKey('/org/a/room/1', 'readings', 'co2'); // '/org/a/room/1␟readings␟co2'
 * timeKey(1_700_000_000_000);                   // '001700000000000'
 * ```
 */
import { TwinError } from '../errors.js';
import { utf8Length } from '../topology/path.js';

export const SEP = '\u001f';
/** The character after {@link SEP}: `path + AFTER_SEP` ends the key range of `path`'s entries. */
export const AFTER_SEP = '\u0020';

/** Largest time a journal key can hold (ms). */
export const MAX_TIME = 999_999_999_999_999;
/** Width of a timer index bucket (ms). */
export const BUCKET_MS = 60_000;

/** The `entries` key of one keyed-lane entry. */
export function entryKey(path: string, lane: string, key: string): string {
  return path + SEP + lane + SEP + key;
}

/** The path part of an `entries` key. */
export function entryPath(key: string): string {
  return key.slice(0, key.indexOf(SEP));
}

/** Fixed-width decimal so string order is time order (ms up to year 33658). */
export function timeKey(ms: number): string {
  return String(Math.floor(ms)).padStart(15, '0');
}

export function seqKey(seq: number): string {
  return String(seq).padStart(12, '0');
}

/** Fixed-width minute bucket of a time, so string order is time order. */
export function bucketKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms / BUCKET_MS))).padStart(11, '0');
}

/**
 * Compares strings in LMDB's key order (UTF-8 bytes, i.e. code points), which differs
 * from JavaScript's `<` (UTF-16 units) only for characters past U+D7FF.
 */
export function keyOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
}

/** lmdb-js's largest key, in bytes. */
export const MAX_LMDB_KEY_BYTES = 1978;

/**
 * Throws TWIN_PATH_INVALID when `path` with `room` more bytes is no LMDB key. Reads check
 * first: lmdb-js refuses a long key only after it opened its read snapshot, which then
 * stayed pinned (every later commit grew the data file). Paths that passed
 * `normalisePath` always fit; this holds the store to it whatever calls it.
 */
export function assertKeyFits(path: string, room = 2): void {
  if ((path.length + room) * 3 <= MAX_LMDB_KEY_BYTES) return; // fits whatever the characters
  if (utf8Length(path) + room <= MAX_LMDB_KEY_BYTES) return;
  throw new TwinError('TWIN_PATH_INVALID', `invalid twin path: its key is longer than ${MAX_LMDB_KEY_BYTES} bytes`, {
    path: path.slice(0, 64),
    reason: 'too long for a store key',
  });
}
