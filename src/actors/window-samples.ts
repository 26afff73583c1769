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
  private lanes: Lane[] = [];

  /** A write to `lane`, which feeds windows, in the current turn. */
  note(lane: Lane): void {
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) if (lanes[i] === lane) return;
    lanes.push(lane);
  }

  /** The sources written since the last take, in first-write order; null when none. */
  take(): Lane[] | null {
    if (this.lanes.length === 0) return null;
    const lanes = this.lanes;
    this.lanes = [];
    return lanes;
  }

  /** The turn rolled back: its writes are no samples. */
  clear(): void {
    if (this.lanes.length > 0) this.lanes = [];
  }
}

export const WRITTEN_SOURCES = new WrittenSources();
