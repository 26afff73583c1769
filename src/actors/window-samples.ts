import type { Lane } from '../lanes/lane.js';

/**
 * The source lanes of window lanes written in the turn that is running: a window samples
 * its source once per turn, with the value the turn settled on, not once per `set` (a
 * handler that sets 9 and corrects it to 12 is one sample of 12). The twin notes each
 * write here and takes the list when its hooks have settled, just before the turn
 * commits (see Twin.sampleWindows).
 *
 * One list per thread, not per twin: a thread runs one turn at a time and every turn ends
 * by taking or clearing it (commit or rollback), so no twin pays a field for it.
 */
class WrittenSources {
  /** Reused by every turn (slots past `count` are cleared): a fresh array per turn cost ~150 B per event. */
  private readonly lanes: Lane[] = [];
  private count = 0;

  /** A write to `lane`, which feeds windows, in the current turn. */
  note(lane: Lane): void {
    const lanes = this.lanes;
    for (let i = 0; i < this.count; i++) if (lanes[i] === lane) return;
    lanes[this.count++] = lane;
  }

  /** How many sources were written since the last clear (read them with {@link at}, in first-write order). */
  get size(): number {
    return this.count;
  }

  at(i: number): Lane {
    return this.lanes[i]!;
  }

  /** The turn took its samples, or rolled back (its writes are no samples). */
  clear(): void {
    // Drop the references, so a finished turn does not pin a stopped twin's lanes.
    for (let i = 0; i < this.count; i++) this.lanes[i] = undefined as unknown as Lane;
    this.count = 0;
  }
}

export const WRITTEN_SOURCES = new WrittenSources();
