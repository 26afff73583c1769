import type { JournalEntry } from '../store/state-store.js';

/** The twin state shape that reads return (see Runtime.read). */
interface Snapshot {
  path: string;
  model: string;
  lanes: Record<string, unknown>;
}

/**
 * Undoes journal entries (given oldest first) on a copy of a snapshot, newest change
 * first: value lanes get their old value back, map entries their old value (or are
 * removed when they did not exist), a cleared map its old entries.
 *
 * @example
 * ```ts
 * const then = rollBack(await rt.read(path), await rt.history(path, at + 1));
 * ```
 */
export function rollBack(snapshot: Snapshot, newer: readonly JournalEntry[]): Snapshot {
  const lanes: Record<string, unknown> = structuredClone(snapshot.lanes);
  for (let e = newer.length - 1; e >= 0; e--) {
    const changes = newer[e]!.changes;
    for (let c = changes.length - 1; c >= 0; c--) {
      const [lane, key, old] = changes[c]!;
      if (!(lane in lanes)) continue; // a lane the current model no longer has
      if (key === null) {
        lanes[lane] = old === undefined ? lanes[lane] : structuredClone(old);
        continue;
      }
      const map = { ...((lanes[lane] as Record<string, unknown> | undefined) ?? {}) };
      if (old === undefined) delete map[key];
      else map[key] = old;
      lanes[lane] = map;
    }
  }
  return { ...snapshot, lanes };
}
