import { isStorable, type StateWrite } from '../lanes/index.js';

/**
 * Largest key a store is asked to hold, in UTF-8 bytes: LMDB's default key size (1978)
 * less room for its separators. A twin's keys are its path and, for keyed lanes,
 * path ␟ lane ␟ key: a long path of non-ASCII segments or a long map key can pass it.
 */
const MAX_KEY_BYTES = 1900;
/** Below this many UTF-16 units a key cannot reach MAX_KEY_BYTES (3 bytes a unit at most), so it is not measured. */
const SURELY_SHORT = Math.floor(MAX_KEY_BYTES / 3);

/**
 * True when the store can take every write of `writes` from index `from` on (the writes of
 * one twin, see TurnRunner.takeWrites): each key fits and each value encodes. Checked before
 * the writes join a commit, so a twin whose state cannot be stored is refused alone (its
 * events fail, it goes back to its stored state) and never fails a commit it shares.
 */
export function storableFrom(writes: readonly StateWrite[], from: number): boolean {
  for (let i = from; i < writes.length; i++) if (!storable(writes[i]!)) return false;
  return true;
}

/** True when the store can take one write (see {@link storableFrom}). */
export function storable(w: StateWrite): boolean {
  switch (w.op) {
    case 'record':
      return keyFits(w.path) && isStorable(w.values);
    case 'put':
      return keyFits(w.path, w.lane, w.key) && isStorable(w.value);
    case 'del':
      return true;
    case 'journal':
      return isStorable(w.entry);
  }
}

function keyFits(path: string, lane = '', key = ''): boolean {
  const units = path.length + lane.length + key.length + 2;
  return units < SURELY_SHORT || Buffer.byteLength(path) + Buffer.byteLength(lane) + Buffer.byteLength(key) + 2 <= MAX_KEY_BYTES;
}
