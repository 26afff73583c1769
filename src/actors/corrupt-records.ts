import { TwinError } from '../errors.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { StateStore } from '../store/state-store.js';
import type { ShardStats } from './stats.js';

/**
 * Stored state that is damaged (bytes that do not decode) or that its model cannot restore
 * (a lane value of the wrong type, a `migrate` that throws) is set aside and reported, and
 * the twin continues without it (issue 13.8): one bad record must neither fail every later
 * call of its twin nor keep the twin (and its parent's aggregates) from running. A store
 * moves damaged bytes aside itself when a load meets them (TWIN_RECORD_CORRUPT); a record
 * that decodes but does not restore is moved aside here, through `StateStore.quarantine`.
 */
export class CorruptRecords {
  constructor(
    private readonly store: StateStore,
    private readonly stats: ShardStats,
    private readonly log: TwinLogger,
  ) {}

  /** Counts and logs (once per record) stored state set aside as damaged. */
  noteCorrupt(path: string, err: TwinError, what: string): void {
    this.stats.corruptRecords++;
    this.log.error(
      { code: err.code, path, quarantined: err.details?.quarantined, err: err.message },
      `TWIN_RECORD_CORRUPT: ${what}; its bytes are in the quarantine database and the twin continues without them (restore the twin's state from a backup or by sending its data again; see docs/persistence.md)`,
    );
  }

  /** A stored record its model cannot restore: moved aside by the store (when it can) and reported. */
  setAsideUnrestorable(path: string, cause: unknown): void {
    let quarantined: string[] | undefined;
    try {
      quarantined = this.store.quarantine?.(path, cause);
    } catch (err) {
      this.log.error(
        { path, err },
        'a stored record that cannot be restored could not be moved aside; the twin starts fresh and its first write replaces it',
      );
    }
    const error = new TwinError(
      'TWIN_RECORD_CORRUPT',
      `the stored state of ${path} cannot be restored by its model (${(cause as Error)?.message ?? String(cause)})`,
      { path, quarantined },
      { cause },
    );
    this.noteCorrupt(path, error, 'a stored record could not be restored by its model');
  }
}
