import type { JournalEntry } from '../store/state-store.js';

/** The twin state shape that reads return (see Runtime.read). */
interface Snapshot {
  path: string;
  model: string;
  lanes: Record<string, unknown>;
}

/**
 * A snapshot being rolled back through journal entries handed to it newest first, in as
 * many chunks as the journal is read in (Runtime.readAt reads it backwards a chunk at a
 * time): value lanes get their old value back, map entries their old value (or are
 * removed when they did not exist), a cleared map its old entries.
 *
 * @example
 * ```ts
 * const state = new RollBack(await rt.read(path));
 * state.undo(newestFirst);
 * state.result();
 * ```
 */
export class RollBack {
  /** Entries undone so far. */
  undone = 0;
  /** A copy of the snapshot's lanes: every object in it is this roll-back's own, so it is changed in place. */
  private readonly lanes: Record<string, unknown>;

  constructor(private readonly snapshot: Snapshot) {
    this.lanes = structuredClone(snapshot.lanes);
  }

  /** Undoes `entries`, newest first, each entry's changes last to first. */
  undo(entries: readonly JournalEntry[]): void {
    const lanes = this.lanes;
    for (const entry of entries) {
      const changes = entry.changes;
      for (let c = changes.length - 1; c >= 0; c--) {
        const [lane, key, old] = changes[c]!;
        if (!Object.hasOwn(lanes, lane)) continue; // a lane the current model no longer has
        if (key === null) {
          if (old !== undefined) lanes[lane] = structuredClone(old);
          continue;
        }
        let map = lanes[lane] as Record<string, unknown> | null | undefined;
        if (map === null || typeof map !== 'object') lanes[lane] = map = {};
        if (old === undefined) delete map[key];
        else map[key] = old;
      }
    }
    this.undone += entries.length;
  }

  /** The snapshot as of before every entry undone so far. */
  result(): Snapshot {
    return { ...this.snapshot, lanes: this.lanes };
  }
}
