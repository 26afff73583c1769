import type { Database, RootDatabase } from 'lmdb';
import { TwinError } from '../errors.js';
import type { DataDirLock } from './data-lock.js';
import { AFTER_SEP, assertKeyFits, entryKey, keyOrder, SEP } from './lmdb-keys.js';
import { Commits } from './lmdb-commits.js';
import { LmdbJournal } from './lmdb-journal.js';
import { claimDataDir, openDatabases, STRUCTURES, type LmdbDatabases } from './lmdb-open.js';
import { corruptRecord, LmdbQuarantine, type QuarantinedBytes } from './lmdb-quarantine.js';
import { LmdbTimerIndex } from './lmdb-timer-index.js';
import {
  UnstorableWritesError,
  type HistoryPage,
  type HistoryQuery,
  type StateStore,
  type StateWrite,
  type StoredTwin,
} from './state-store.js';

export { claimDataDir, FORMAT_VERSION } from './lmdb-open.js';
export type { QuarantinedBytes } from './lmdb-quarantine.js';

/**
 * `strict`: a write resolves once its transaction is committed and flushed to disk, so an
 * acknowledgement survives a crash of the process or of the machine.
 * `relaxed`: a write resolves as soon as it is queued; lmdb commits it within the next
 * event-loop turn and flushes shortly after. A process crash can lose the writes of the
 * last few milliseconds that were already acknowledged.
 */
export type Durability = 'strict' | 'relaxed';

export interface LmdbStoreOptions {
  /** Data directory (created if missing). */
  path: string;
  durability?: Durability;
  /** LMDB map size in bytes (default 64 GiB of address space; the file grows as needed). */
  mapSize?: number;
  /** Journal entries older than this (ms, relative to the newest entry) are compacted away. Default 7 days. */
  journalRetentionMs?: number;
  /**
   * Distinguishes the writers sharing one environment (shard workers): journal keys and
   * sequence counters are per writer, so concurrent writers never collide. Default 0.
   */
  writerId?: number;
}

/**
 * The LMDB {@link StateStore}. Its databases, in one environment:
 * - `records`: twin path → msgpack record of its value-shaped lanes and bookkeeping;
 * - `entries`: `path ␟ lane ␟ key` (U+001F separators) → msgpack value, for keyed lanes;
 *   a twin's entries are one contiguous key range, read with a single cursor on restore;
 * - `meta`: format version and other metadata;
 * - `journal`, `journal-by-time`: the optional journal of turns and its time index;
 * - `timers`, `timer-of`: which twins have timers due in which minute (see {@link dueTwins});
 * - `quarantine`: stored bytes moved aside because they did not decode.
 * Each batch is one LMDB transaction: it commits whole or not at all.
 *
 * This file reads and writes records and entries; its parts: lmdb-open.ts (claiming and
 * opening a data directory), lmdb-keys.ts (key layout), {@link LmdbJournal},
 * {@link LmdbTimerIndex} and {@link LmdbQuarantine}.
 *
 * @example
 * ```ts
 * const store = LmdbStateStore.open({ path: './data', durability: 'strict' });
 * const rt = createRuntime({ models, store });
 * ```
 */
export class LmdbStateStore implements StateStore {
  /** The `meta` database (format version, journal sequences). */
  readonly meta: Database<unknown, string>;
  private closed = false;
  /** Batches queued and not yet committed. */
  private pending = 0;
  private readonly root: RootDatabase;
  private readonly records: Database<Record<string, unknown>, string>;
  private readonly entries: Database<unknown, string>;
  private readonly journal: LmdbJournal;
  private readonly timerIndex: LmdbTimerIndex;
  private readonly quarantineDb: LmdbQuarantine;

  private constructor(
    dbs: LmdbDatabases,
    private readonly lock: DataDirLock,
    readonly durability: Durability,
    retentionMs: number,
    writerId: number,
  ) {
    this.root = dbs.root;
    this.records = dbs.records;
    this.entries = dbs.entries;
    this.meta = dbs.meta;
    this.journal = new LmdbJournal(dbs.journal, dbs.journalByTime, dbs.meta, writerId, retentionMs);
    this.timerIndex = new LmdbTimerIndex(dbs.timers, dbs.timerOf);
    this.quarantineDb = new LmdbQuarantine(
      dbs.root,
      dbs.records,
      dbs.entries,
      dbs.quarantine,
      this.timerIndex,
      writerId,
    );
  }

  static open(options: LmdbStoreOptions): LmdbStateStore {
    const lock = claimDataDir(options.path);
    try {
      return new LmdbStateStore(
        openDatabases(options.path, options.mapSize),
        lock,
        options.durability ?? 'strict',
        options.journalRetentionMs ?? 7 * 86_400_000,
        options.writerId ?? 0,
      );
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /**
   * The stored state of a twin. Bytes that do not decode into what this store wrote (a
   * record that is not an object, msgpack that does not parse) are moved to the
   * `quarantine` database and TWIN_RECORD_CORRUPT is thrown (issue 13.8: such a twin used to
   * fail every later read and write). What is intact stays: loading again returns it.
   */
  load(path: string): StoredTwin | undefined {
    assertKeyFits(path); // the record's key, and the entries' range ends at path + AFTER_SEP
    let values: Record<string, unknown> | undefined;
    try {
      values = this.records.get(path);
      if (values !== undefined && !isRecord(values))
        throw new TypeError(`the record is a ${typeName(values)}, not an object`);
    } catch (err) {
      if (isLmdbError(err)) throw err;
      throw corruptRecord(path, [this.quarantineDb.key('records', path, err)], err);
    }
    // A record with `$e: 0` says its twin has no entries: skip the cursor (most twins).
    if (values !== undefined && values.$e === 0) return { values, entries: NO_ENTRIES };
    let entries: Map<string, Map<string, unknown>> | undefined;
    try {
      for (const { key, value } of this.entries.getRange({ start: path + SEP, end: path + AFTER_SEP }))
        addEntry((entries ??= new Map()), path.length + 1, key, value);
    } catch (err) {
      if (isLmdbError(err)) throw err;
      throw corruptRecord(path, this.quarantineDb.undecodableEntries(path), err);
    }
    if (values === undefined && entries === undefined) return undefined;
    return { values: values ?? {}, entries: entries ?? new Map() };
  }

  /**
   * Stored twins at and under `prefix` in path order (see {@link StateStore.scan}). A twin
   * whose bytes do not decode is skipped: it starts on demand, and its {@link load}
   * quarantines and reports the damage. (A failed decode breaks the cursors: the scan
   * resumes after the last twin it yielded, skipping the next one, so it always advances.)
   */
  *scan(prefix: string, after?: string): Iterable<[string, StoredTwin]> {
    let last = after;
    for (;;) {
      try {
        for (const item of this.scanFrom(prefix, last)) {
          last = item[0];
          yield item;
        }
        return;
      } catch (err) {
        if (isLmdbError(err) || this.closed) throw err;
        last = this.nextRecordPath(prefix, last);
        if (last === undefined) return;
      }
    }
  }

  /** Raw bytes moved aside because they did not decode, oldest first (see docs/persistence.md). */
  quarantined(): Iterable<QuarantinedBytes & { id: string }> {
    return this.quarantineDb.list();
  }

  /**
   * Cursors over `records` and `entries`, merged. Entry keys sort like their paths
   * (`path␟…` comes before `path/…` and after any smaller path), so one pass pairs them.
   */
  private *scanFrom(prefix: string, after: string | undefined): Iterable<[string, StoredTwin]> {
    // '/' + 1 = '0': the range holds the prefix, its subtree, and siblings like `prefix!` (filtered).
    const end = prefix + '0';
    const records = this.records.getRange({ start: after === undefined ? prefix : after, end })[Symbol.iterator]();
    const entries = this.entries
      .getRange({ start: after === undefined ? prefix : after + AFTER_SEP, end })
      [Symbol.iterator]();
    const under = prefix + '/';
    let entry = entries.next();
    for (let r = records.next(); !r.done; r = records.next()) {
      const path = r.value.key;
      if (typeof path !== 'string' || (after !== undefined && path <= after)) continue;
      if (path !== prefix && !path.startsWith(under)) continue;
      const values = r.value.value;
      if (!isRecord(values)) throw new TypeError(`the record of ${path} is not an object`);
      let map: Map<string, Map<string, unknown>> | undefined;
      // This twin's entries, after skipping those of smaller paths (of twins without a
      // record, or outside the subtree). An entry key orders against a path as its own path
      // part does (the separator sorts before every character a path may hold), so nothing
      // is sliced out to compare; and most entries are this twin's, tested first.
      while (!entry.done) {
        const key = entry.value.key;
        if (isEntryOf(key, path)) addEntry((map ??= new Map()), path.length + 1, key, entry.value.value);
        else if (keyOrder(key, path) >= 0) break;
        entry = entries.next();
      }
      // `$e: 0`: the twin has no entries (any found are orphans, e.g. of a lane a newer model
      // removed), as `load` reads it: a twin restores the same on demand and by `warm`.
      yield [path, { values, entries: values.$e === 0 ? NO_ENTRIES : (map ?? NO_ENTRIES) }];
    }
  }

  /** The first record path under `prefix` after `after` (keys only: nothing is decoded). */
  private nextRecordPath(prefix: string, after: string | undefined): string | undefined {
    for (const key of this.records.getKeys({ start: after ?? prefix, end: prefix + '0' })) {
      if (typeof key !== 'string' || (after !== undefined && key <= after)) continue;
      return key;
    }
    return undefined;
  }

  /**
   * Moves every stored byte of `path` (its record and its entries) to `quarantine` and
   * deletes them, in one synchronous transaction: for a record that decodes but that its
   * model cannot restore (see {@link StateStore.quarantine}). Returns the quarantine ids.
   */
  quarantine(path: string, reason: unknown): string[] {
    return this.quarantineDb.twin(path, reason);
  }

  /** One page of a twin's journal (see {@link HistoryQuery}). */
  history(path: string, query: HistoryQuery): HistoryPage {
    assertKeyFits(path, 33); // ␟ time ␟ writer seq
    return this.journal.history(path, query);
  }

  /**
   * Commits a batch as one LMDB transaction. The operations are queued with lmdb-js's
   * asynchronous `put`/`remove`, all in this event turn, which lmdb-js commits together in
   * one transaction on its write thread: the main thread only encodes. (The earlier
   * `transaction(() => putSync(…))` ran every B-tree insert on the main thread and cost
   * about as much again as the runtime itself.) Reads do not see a batch until it
   * commits, so nothing here reads what an earlier, still uncommitted batch wrote.
   */
  async write(batch: readonly StateWrite[]): Promise<void> {
    if (this.closed) throw new TwinError('TWIN_STORE_FAILED', 'the store is closed');
    // With nothing in flight every write is visible to reads again: the cache may start over.
    if (this.pending === 0) this.timerIndex.trim();
    const commits = new Commits();
    let unstorable: Set<string> | undefined;
    let firstError: unknown;
    // By database: the records (with their timer index), then the entries, then the
    // journal, each in batch order (only writes of one key need an order, and they stay in
    // it). lmdb-js's write thread, the slower side of a commit (its B-tree searches compare
    // long keys), then walks one tree at a time instead of alternating between them.
    for (let pass = 0; pass < 3; pass++) {
      for (const w of batch) {
        if ((w.op === 'record' ? 0 : w.op === 'journal' ? 2 : 1) !== pass) continue;
        try {
          this.apply(w, commits);
        } catch (err) {
          // lmdb-js encodes in put(), before queueing: a value its encoder cannot take (too
          // deep, a function) or a key past LMDB's key size throws here and queues nothing,
          // so leaving that write out keeps the rest of the transaction whole.
          (unstorable ??= new Set()).add(w.path);
          firstError ??= err;
        }
      }
    }
    this.journal.afterBatch(commits);
    if (!commits.empty) {
      this.pending++;
      const committed = commits.settled().finally(() => this.pending--);
      if (this.durability === 'relaxed') {
        committed.catch(() => undefined); // failures surface on the next strict flush or close
      } else {
        await committed;
        await this.root.flushed;
      }
    }
    if (unstorable) throw new UnstorableWritesError(unstorable, firstError);
  }

  /**
   * Paths of stored twins with a timer due at or before `until` (epoch ms), from the
   * `timers` index (minute buckets, so a twin may be listed up to a minute early; its
   * exact timers are in its record). After a restart, the runtime activates these twins so
   * their timers come due without waiting for traffic; twins already live may be listed.
   */
  dueTwins(until: number, limit = Infinity): string[] {
    return this.timerIndex.dueTwins(until, limit);
  }

  /** The earliest indexed timer bucket at or after `after` (epoch ms of its start), if any. */
  nextDue(after: number): number | undefined {
    return this.timerIndex.nextDue(after);
  }

  *list(prefix: string): Iterable<string> {
    const range = prefix === '' ? {} : { start: prefix, end: prefix + '\uffff' };
    for (const key of this.records.getKeys(range)) {
      // lmdb keeps msgpack's shared structures under a symbol key in the same database.
      if (typeof key !== 'string') continue;
      if (prefix === '' || key === prefix || key.startsWith(prefix + '/')) yield key;
    }
  }

  /** Number of twins with a record (an O(1) LMDB statistic, less the shared-structures entry). */
  get twinCount(): number {
    const entries = (this.records.getStats() as { entryCount: number }).entryCount;
    return this.records.get(STRUCTURES as unknown as string) === undefined ? entries : entries - 1;
  }

  /** See {@link StateStore.visible}: only relaxed writes can be acknowledged but not yet readable. */
  visible(): Promise<void> | undefined {
    if (this.durability === 'strict' || this.pending === 0) return undefined;
    return Promise.resolve(this.root.committed).then(() => undefined);
  }

  /** Resolves once everything written so far is committed and flushed to disk (relaxed mode: the "commit within ms" point). */
  async sync(): Promise<void> {
    await this.root.committed;
    await this.root.flushed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.root.flushed;
      await this.root.close();
    } finally {
      this.lock.release();
    }
  }

  /** Queues one write; its commit goes to `commits`. */
  private apply(w: StateWrite, commits: Commits): void {
    switch (w.op) {
      case 'record':
        commits.add(this.records.put(w.path, w.values));
        this.timerIndex.update(w.path, w.values, w.created === true, commits);
        return;
      case 'put':
        commits.add(this.entries.put(entryKey(w.path, w.lane, w.key), w.value));
        return;
      case 'journal':
        this.journal.append(w.entry, commits);
        return;
      case 'del': {
        if (w.key !== undefined) return commits.add(this.entries.remove(entryKey(w.path, w.lane, w.key)));
        // A whole lane: only committed keys are visible here (lanes delete by key; see MapLane.clear).
        const from = w.path + SEP + w.lane + SEP;
        for (const key of this.entries.getKeys({ start: from, end: w.path + SEP + w.lane + AFTER_SEP }))
          commits.add(this.entries.remove(key));
        return;
      }
    }
  }
}

/** An error of LMDB itself (a damaged page, a full map), as opposed to bytes that do not decode. */
function isLmdbError(err: unknown): boolean {
  return err instanceof TwinError || /MDB_|page \d+ not found/.test((err as Error)?.message ?? '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : ArrayBuffer.isView(v) ? 'byte array' : typeof v;
}

const NO_ENTRIES: ReadonlyMap<string, ReadonlyMap<string, unknown>> = new Map();

/**
 * Adds an entry, by its `path␟lane␟key` key, to one twin's entries by lane. `from`: where
 * the lane name starts (the path's length + 1). Joins key their entries by child paths,
 * which restore replaces by the live children's own strings (see JoinLane.restore).
 */
function addEntry(lanes: Map<string, Map<string, unknown>>, from: number, key: string, value: unknown): void {
  const laneEnd = key.indexOf(SEP, from);
  const lane = key.slice(from, laneEnd);
  let m = lanes.get(lane);
  if (!m) lanes.set(lane, (m = new Map()));
  m.set(key.slice(laneEnd + 1), value);
}

const SEP_CODE = SEP.charCodeAt(0);

/** True when an `entries` key belongs to the twin at `path`. */
function isEntryOf(key: string, path: string): boolean {
  return key.charCodeAt(path.length) === SEP_CODE && key.startsWith(path);
}
