import type { Database, RootDatabase } from 'lmdb';
import { TwinError } from '../errors.js';
import { AFTER_SEP, SEP } from './lmdb-keys.js';
import type { LmdbTimerIndex } from './lmdb-timer-index.js';

/** Bytes moved aside because they did not decode (the `quarantine` database). */
export interface QuarantinedBytes {
  readonly db: 'records' | 'entries';
  /** The key they were stored under (a twin path, or `path␟lane␟key` for an entry). */
  readonly key: string;
  readonly bytes: Uint8Array;
  /** Why they did not decode. */
  readonly error: string;
  /** When they were moved (epoch ms). */
  readonly at: number;
}

/**
 * The `quarantine` database: stored bytes of a twin that do not decode, or that its model
 * cannot restore, are moved here (raw, with why and when) and deleted from where they
 * were, so the twin continues from what is intact and an operator can still recover them
 * (see docs/persistence.md). Every move is one synchronous transaction: a later load must
 * not find the bytes again.
 *
 * @example
 * ```ts
 * const ids = quarantine.twin('/room/1', new Error('migrate failed')); // record and entries moved aside
 * for (const q of store.quarantined()) console.log(q.id, q.db, q.key, q.error);
 * ```
 */
export class LmdbQuarantine {
  constructor(
    private readonly root: RootDatabase,
    private readonly records: Database<Record<string, unknown>, string>,
    private readonly entries: Database<unknown, string>,
    private readonly db: Database<QuarantinedBytes, string>,
    private readonly timerIndex: LmdbTimerIndex,
    private readonly writerId: number,
  ) {}

  /** Raw bytes moved aside, oldest first. */
  *list(): Iterable<QuarantinedBytes & { id: string }> {
    for (const { key, value } of this.db.getRange({})) yield { id: key, ...value };
  }

  /** Moves every stored byte of `path` (its record and its entries) aside; returns the quarantine ids. */
  twin(path: string, reason: unknown): string[] {
    const ids: string[] = [];
    this.root.transactionSync(() => {
      if (this.records.getBinary(path) !== undefined) ids.push(this.moveAside('records', path, reason));
      for (const key of this.entries.getKeys({ start: path + SEP, end: path + AFTER_SEP }))
        ids.push(this.moveAside('entries', key, reason));
    });
    return ids;
  }

  /** Moves the raw bytes of one key aside; returns its quarantine id. */
  key(db: 'records' | 'entries', key: string, err: unknown): string {
    let id = '';
    this.root.transactionSync(() => (id = this.moveAside(db, key, err)));
    return id;
  }

  /** Moves every entry of `path` whose value does not decode aside; returns their quarantine ids. */
  undecodableEntries(path: string): string[] {
    const ids: string[] = [];
    for (const key of this.entries.getKeys({ start: path + SEP, end: path + AFTER_SEP })) {
      try {
        this.entries.get(key);
      } catch (err) {
        ids.push(this.key('entries', key, err));
      }
    }
    return ids;
  }

  /**
   * One key's bytes into `quarantine` (inside a synchronous transaction). A record's timer
   * index entries go with it: the twin that starts fresh has no timers.
   */
  private moveAside(db: 'records' | 'entries', key: string, err: unknown): string {
    const source = db === 'records' ? this.records : this.entries;
    const bytes = source.getBinary(key);
    const id = `${key}${SEP}${db}${SEP}${new Date().toISOString()}${SEP}${this.writerId}`;
    if (bytes !== undefined)
      this.db.putSync(id, {
        db,
        key,
        bytes: Buffer.from(bytes),
        error: (err as Error)?.message ?? String(err),
        at: Date.now(),
      });
    source.removeSync(key);
    if (db === 'records') this.timerIndex.dropSync(key);
    return id;
  }
}

/** The error of a load that met bytes which do not decode (they were moved aside: `quarantined`). */
export function corruptRecord(path: string, quarantined: readonly string[], cause: unknown): TwinError {
  return new TwinError(
    'TWIN_RECORD_CORRUPT',
    `the stored state of ${path} does not decode (${(cause as Error)?.message ?? String(cause)}); its bytes were moved to the quarantine database and the twin continues from what is intact`,
    { path, quarantined: [...quarantined] },
    { cause },
  );
}
