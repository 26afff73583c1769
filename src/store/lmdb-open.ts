import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { TwinError } from '../errors.js';
import { DataDirLock } from './data-lock.js';
import { checkLmdbHeader } from './lmdb-check.js';
import { LmdbTimerIndex } from './lmdb-timer-index.js';
import type { QuarantinedBytes } from './lmdb-quarantine.js';
import type { JournalEntry } from './state-store.js';

/**
 * On-disk format version; bumped on incompatible layout changes (see docs/persistence.md).
 * 2: small keyed lanes keep their entries in the record (`$in`); a build that reads only
 * format 1 would not see them, so it must refuse the directory. Format 1 reads as it is.
 */
export const FORMAT_VERSION = 2;

/** Key under which msgpack keeps the structures records share (in the `records` database). */
export const STRUCTURES = Symbol.for('twinflow.structures');

/** The databases of one data directory's LMDB environment (see {@link LmdbStateStore}). */
export interface LmdbDatabases {
  readonly root: RootDatabase;
  readonly records: Database<Record<string, unknown>, string>;
  readonly entries: Database<unknown, string>;
  readonly meta: Database<unknown, string>;
  readonly journal: Database<JournalEntry, string>;
  readonly journalByTime: Database<string, string>;
  readonly timers: Database<string, string>;
  readonly timerOf: Database<string, string>;
  readonly quarantine: Database<QuarantinedBytes, string>;
}

/**
 * Takes a data directory for this process (see {@link DataDirLock}) and checks the header
 * of its LMDB file before anything opens it (see {@link checkLmdbHeader}). The node's main
 * thread calls it before its shard workers open the environment; {@link LmdbStateStore.open}
 * calls it too, and checks the header only when it is the process's first claim
 * (a worker's open finds the environment already open and being written). Release the lock
 * when done.
 *
 * @example
 * ```ts
 * const lock = claimDataDir('./data'); // throws TWIN_STORE_LOCKED / TWIN_STORE_CORRUPT
 * try { … } finally { lock.release(); }
 * ```
 */
export function claimDataDir(path: string): DataDirLock {
  mkdirSync(path, { recursive: true });
  const lock = DataDirLock.acquire(path);
  try {
    // Only before anything of this process opened the environment: a later open (a shard
    // worker, after the main thread's claim and a sibling worker's first write) would read
    // pages another thread is writing, and saw a growing file as a damaged one.
    if (lock.first) checkLmdbHeader(path);
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/**
 * Opens the environment of a claimed data directory and its databases, checking what a
 * store cannot run without: a format this build reads, and intact shared msgpack
 * structures. Builds the timer index of a directory written before it existed. Throws a
 * TwinError (see {@link openFailure}); the environment is closed again then.
 */
export function openDatabases(path: string, mapSize: number | undefined): LmdbDatabases {
  let root: RootDatabase;
  try {
    // noSubdir: false: a data directory is a directory (data.mdb, lock.mdb inside, as
    // claimDataDir and checkLmdbHeader assume). lmdb-js otherwise guesses from the name and
    // takes `/tmp/tmp.Ab3xYz` or `./data.v2` (an "extension") for a file: EISDIR at start.
    root = open({ path, mapSize: mapSize ?? 64 * 2 ** 30, maxDbs: 12, noSubdir: false });
  } catch (err) {
    throw openFailure(path, err);
  }
  try {
    const sharedStructuresKey = STRUCTURES;
    const dbs: LmdbDatabases = {
      root,
      records: root.openDB<Record<string, unknown>, string>({
        name: 'records',
        encoding: 'msgpack',
        sharedStructuresKey,
      }),
      entries: root.openDB<unknown, string>({ name: 'entries', encoding: 'msgpack', sharedStructuresKey }),
      meta: root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }),
      journal: root.openDB<JournalEntry, string>({ name: 'journal', encoding: 'msgpack', sharedStructuresKey }),
      journalByTime: root.openDB<string, string>({ name: 'journal-by-time', encoding: 'string' }),
      timers: root.openDB<string, string>({ name: 'timers', encoding: 'string' }),
      timerOf: root.openDB<string, string>({ name: 'timer-of', encoding: 'string' }),
      quarantine: root.openDB<QuarantinedBytes, string>({ name: 'quarantine', encoding: 'msgpack' }),
    };
    const { meta, records } = dbs;
    const format = meta.get('format');
    if (typeof format === 'number' && format >= 1 && format < FORMAT_VERSION) {
      // Older formats read as they are (format 1: keyed lanes only as entries); marking the
      // directory first keeps older builds away from the records this one writes.
      meta.putSync('format', FORMAT_VERSION);
    } else if (format === undefined) {
      meta.putSync('format', FORMAT_VERSION);
    } else if (typeof format !== 'number' || format > FORMAT_VERSION) {
      throw new TwinError(
        'TWIN_STORE_FAILED',
        `data directory ${path} has format ${JSON.stringify(format)}; this build reads up to ${FORMAT_VERSION}`,
      );
    }
    // Records share msgpack structures: if they do not decode, no record would, and
    // quarantining them one by one would empty the store. Refuse to start instead.
    const shared = records.get(STRUCTURES as unknown as string);
    if (shared !== undefined && !Array.isArray(shared))
      throw new TwinError('TWIN_STORE_CORRUPT', 'the shared msgpack structures of the records are damaged');
    // Directories written before the timer index existed: build it once from the records.
    if (meta.get('timerIndex') !== 1) {
      root.transactionSync(() => {
        LmdbTimerIndex.build(dbs.timers, dbs.timerOf, records.getRange({}));
        meta.putSync('timerIndex', 1);
      });
    }
    return dbs;
  } catch (err) {
    void root.close();
    throw openFailure(path, err);
  }
}

/** Why opening a data directory failed, as a TwinError: damage is TWIN_STORE_CORRUPT, anything else TWIN_STORE_FAILED. */
function openFailure(path: string, err: unknown): TwinError {
  if (err instanceof TwinError && err.code !== 'TWIN_STORE_CORRUPT') return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof TwinError)
    return new TwinError(
      'TWIN_STORE_CORRUPT',
      `data directory ${path}: ${message}. The node did not start. Restore the data directory from a backup, or move it aside to start with an empty store`,
      { dir: path },
      { cause: err },
    );
  if (/MDB_(CORRUPTED|PAGE_NOTFOUND|INVALID|VERSION_MISMATCH|BAD_TXN)|page \d+ not found/.test(message)) {
    return new TwinError(
      'TWIN_STORE_CORRUPT',
      `data directory ${path} is damaged (${message}). The node did not start. Restore the data directory from a backup, or move it aside to start with an empty store`,
      { dir: path },
      { cause: err },
    );
  }
  return new TwinError(
    'TWIN_STORE_FAILED',
    `cannot open data directory ${path}: ${message}`,
    { dir: path },
    { cause: err },
  );
}
