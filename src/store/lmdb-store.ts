import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { TwinError } from '../errors.js';
import { DataDirLock } from './data-lock.js';
import { checkLmdbHeader } from './lmdb-check.js';
import { UnstorableWritesError, type JournalEntry, type StateStore, type StateWrite, type StoredTwin } from './state-store.js';

/** On-disk format version; bumped on incompatible layout changes (see docs/persistence.md). */
export const FORMAT_VERSION = 1;

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

const STRUCTURES = Symbol.for('twinflow.structures');
const SEP = '\u001f';
const AFTER_SEP = '\u0020';

/**
 * The LMDB {@link StateStore}. Three databases in one environment:
 * - `records`: twin path → msgpack record of its value-shaped lanes and bookkeeping;
 * - `entries`: `path ␟ lane ␟ key` (U+001F separators) → msgpack value, for keyed lanes;
 *   a twin's entries are one contiguous key range, read with a single cursor on restore;
 * - `meta`: format version and other metadata;
 * - `journal`, `journal-by-time`: the optional journal of turns and its time index;
 * - `timers`, `timer-of`: which twins have timers due in which minute (see {@link dueTwins}).
 * Paths cannot contain control characters (TwinPath rejects them), which makes U+001F an
 * unambiguous separator. (Not U+0000: lmdb-js reads string keys holding several U+0000
 * as composite array keys.) Each batch is one LMDB transaction: it commits whole or not at all.
 *
 * @example
 * ```ts
 * const store = LmdbStateStore.open({ path: './data', durability: 'strict' });
 * const rt = createRuntime({ models, store });
 * ```
 */
export class LmdbStateStore implements StateStore {
  private closed = false;
  private newestJournal = 0;
  private journalWrites = 0;
  /** Journal key sequence, persisted in `meta` so keys stay unique across restarts. */
  private journalSeq = 0;
  /** Batches queued and not yet committed. */
  private pending = 0;
  /** Timer bucket last indexed per path written by this process (see indexTimers). */
  private readonly indexed = new Map<string, string>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly records: Database<Record<string, unknown>, string>,
    private readonly entries: Database<unknown, string>,
    readonly meta: Database<unknown, string>,
    private readonly journal: Database<JournalEntry, string>,
    private readonly journalByTime: Database<string, string>,
    private readonly timers: Database<string, string>,
    private readonly timerOf: Database<string, string>,
    private readonly quarantineDb: Database<QuarantinedBytes, string>,
    private readonly lock: DataDirLock,
    readonly durability: Durability,
    private readonly retentionMs: number,
    private readonly writerId: number,
  ) {
    this.journalSeq = (meta.get(this.seqName) as number | undefined) ?? 0;
  }

  private get seqName(): string {
    return `journalSeq:${this.writerId}`;
  }

  static open(options: LmdbStoreOptions): LmdbStateStore {
    const lock = claimDataDir(options.path);
    try {
      return LmdbStateStore.openLocked(options, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static openLocked(options: LmdbStoreOptions, lock: DataDirLock): LmdbStateStore {
    let root: RootDatabase;
    try {
      root = open({ path: options.path, mapSize: options.mapSize ?? 64 * 2 ** 30, maxDbs: 12 });
    } catch (err) {
      throw openFailure(options.path, err);
    }
    try {
      const structures = STRUCTURES;
      const records = root.openDB<Record<string, unknown>, string>({ name: 'records', encoding: 'msgpack', sharedStructuresKey: structures });
      const entries = root.openDB<unknown, string>({ name: 'entries', encoding: 'msgpack', sharedStructuresKey: structures });
      const meta = root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
      const journal = root.openDB<JournalEntry, string>({ name: 'journal', encoding: 'msgpack', sharedStructuresKey: structures });
      const journalByTime = root.openDB<string, string>({ name: 'journal-by-time', encoding: 'string' });
      const timers = root.openDB<string, string>({ name: 'timers', encoding: 'string' });
      const timerOf = root.openDB<string, string>({ name: 'timer-of', encoding: 'string' });
      const quarantine = root.openDB<QuarantinedBytes, string>({ name: 'quarantine', encoding: 'msgpack' });
      const format = meta.get('format');
      if (format === undefined) {
        meta.putSync('format', FORMAT_VERSION);
      } else if (typeof format !== 'number' || format > FORMAT_VERSION) {
        throw new TwinError('TWIN_STORE_FAILED', `data directory ${options.path} has format ${JSON.stringify(format)}; this build reads up to ${FORMAT_VERSION}`);
      }
      // Records share msgpack structures: if they do not decode, no record would, and
      // quarantining them one by one would empty the store. Refuse to start instead.
      const shared = records.get(STRUCTURES as unknown as string);
      if (shared !== undefined && !Array.isArray(shared)) throw new TwinError('TWIN_STORE_CORRUPT', 'the shared msgpack structures of the records are damaged');
      // Directories written before the timer index existed: build it once from the records.
      if (meta.get('timerIndex') !== 1) {
        root.transactionSync(() => {
          for (const { key, value } of records.getRange({})) {
            if (typeof key === 'string') indexTimers(timers, timerOf, key, value);
          }
          meta.putSync('timerIndex', 1);
        });
      }
      return new LmdbStateStore(root, records, entries, meta, journal, journalByTime, timers, timerOf, quarantine, lock,
        options.durability ?? 'strict', options.journalRetentionMs ?? 7 * 86_400_000, options.writerId ?? 0);
    } catch (err) {
      void root.close();
      throw openFailure(options.path, err);
    }
  }

  /**
   * The stored state of a twin. Bytes that do not decode into what this store wrote (a
   * record that is not an object, msgpack that does not parse) are moved to the
   * `quarantine` database and TWIN_RECORD_CORRUPT is thrown (issue 13.8: such a twin used to
   * fail every later read and write). What is intact stays: loading again returns it.
   */
  load(path: string): StoredTwin | undefined {
    let values: Record<string, unknown> | undefined;
    try {
      values = this.records.get(path);
      if (values !== undefined && !isRecord(values)) throw new TypeError(`the record is a ${typeName(values)}, not an object`);
    } catch (err) {
      if (isLmdbError(err)) throw err;
      throw this.corrupt(path, [this.quarantineKey('records', path, err)], err);
    }
    // A record with `$e: 0` says its twin has no entries: skip the cursor (most twins).
    if (values !== undefined && values.$e === 0) return { values, entries: NO_ENTRIES };
    let entries: Map<string, Map<string, unknown>> | undefined;
    try {
      for (const { key, value } of this.entries.getRange({ start: path + SEP, end: path + AFTER_SEP })) {
        const laneEnd = key.indexOf(SEP, path.length + 1);
        const lane = key.slice(path.length + 1, laneEnd);
        const entryKey = key.slice(laneEnd + 1);
        entries ??= new Map();
        let m = entries.get(lane);
        if (!m) entries.set(lane, (m = new Map()));
        m.set(entryKey, value);
      }
    } catch (err) {
      if (isLmdbError(err)) throw err;
      throw this.corrupt(path, this.quarantineEntries(path), err);
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
  *quarantined(): Iterable<QuarantinedBytes & { id: string }> {
    for (const { key, value } of this.quarantineDb.getRange({})) yield { id: key, ...value };
  }

  /**
   * Cursors over `records` and `entries`, merged. Entry keys sort like their paths
   * (`path␟…` comes before `path/…` and after any smaller path), so one pass pairs them.
   */
  private *scanFrom(prefix: string, after: string | undefined): Iterable<[string, StoredTwin]> {
    // '/' + 1 = '0': the range holds the prefix, its subtree, and siblings like `prefix!` (filtered).
    const end = prefix + '0';
    const records = this.records.getRange({ start: after === undefined ? prefix : after, end })[Symbol.iterator]();
    const entries = this.entries.getRange({ start: after === undefined ? prefix : after + AFTER_SEP, end })[Symbol.iterator]();
    let entry = entries.next();
    for (let r = records.next(); !r.done; r = records.next()) {
      const path = r.value.key;
      if (typeof path !== 'string' || (after !== undefined && path <= after)) continue;
      if (path !== prefix && !path.startsWith(prefix + '/')) continue;
      const values = r.value.value;
      if (!isRecord(values)) throw new TypeError(`the record of ${path} is not an object`);
      let map: Map<string, Map<string, unknown>> | undefined;
      // Skip entries of smaller paths (of twins without a record, or outside the subtree).
      while (!entry.done && keyOrder(entryPath(entry.value.key), path) < 0) entry = entries.next();
      while (!entry.done && entryPath(entry.value.key) === path) {
        const key = entry.value.key;
        const laneEnd = key.indexOf(SEP, path.length + 1);
        const lane = key.slice(path.length + 1, laneEnd);
        map ??= new Map();
        let m = map.get(lane);
        if (!m) map.set(lane, (m = new Map()));
        m.set(key.slice(laneEnd + 1), entry.value.value);
        entry = entries.next();
      }
      yield [path, { values, entries: map ?? NO_ENTRIES }];
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

  /** Quarantines every entry of `path` whose value does not decode; returns their quarantine ids. */
  private quarantineEntries(path: string): string[] {
    const ids: string[] = [];
    for (const key of this.entries.getKeys({ start: path + SEP, end: path + AFTER_SEP })) {
      try {
        this.entries.get(key);
      } catch (err) {
        ids.push(this.quarantineKey('entries', key, err));
      }
    }
    return ids;
  }

  /**
   * Moves every stored byte of `path` (its record and its entries) to `quarantine` and
   * deletes them, in one synchronous transaction: for a record that decodes but that its
   * model cannot restore (see {@link StateStore.quarantine}). Returns the quarantine ids.
   */
  quarantine(path: string, reason: unknown): string[] {
    const ids: string[] = [];
    this.root.transactionSync(() => {
      if (this.records.getBinary(path) !== undefined) ids.push(this.moveAside('records', path, reason));
      for (const key of this.entries.getKeys({ start: path + SEP, end: path + AFTER_SEP })) ids.push(this.moveAside('entries', key, reason));
    });
    return ids;
  }

  /**
   * Moves the raw bytes of one key to `quarantine` and deletes the key, in one synchronous
   * transaction (rare, and a later load must not find the bytes again).
   */
  private quarantineKey(db: 'records' | 'entries', key: string, err: unknown): string {
    let id = '';
    this.root.transactionSync(() => (id = this.moveAside(db, key, err)));
    return id;
  }

  /**
   * One key's bytes into `quarantine` (inside a synchronous transaction). A record's timer
   * index entries go with it: the twin that starts fresh has no timers.
   */
  private moveAside(db: 'records' | 'entries', key: string, err: unknown): string {
    const source = db === 'records' ? this.records : this.entries;
    const bytes = source.getBinary(key);
    const id = `${key}${SEP}${db}${SEP}${new Date().toISOString()}${SEP}${this.writerId}`;
    if (bytes !== undefined) this.quarantineDb.putSync(id, { db, key, bytes: Buffer.from(bytes), error: (err as Error)?.message ?? String(err), at: Date.now() });
    source.removeSync(key);
    if (db === 'records') {
      const bucket = this.timerOf.get(key);
      if (bucket !== undefined) this.timers.removeSync(bucket + SEP + key);
      this.timerOf.removeSync(key);
      this.indexed.delete(key);
    }
    return id;
  }

  private corrupt(path: string, quarantined: readonly string[], cause: unknown): TwinError {
    return new TwinError('TWIN_RECORD_CORRUPT',
      `the stored state of ${path} does not decode (${(cause as Error)?.message ?? String(cause)}); its bytes were moved to the quarantine database and the twin continues from what is intact`,
      { path, quarantined: [...quarantined] }, { cause });
  }

  history(path: string, from: number, to: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    const range = { start: path + SEP + timeKey(Math.max(0, from)), end: path + SEP + timeKey(Math.min(to, MAX_TIME)) + SEP + '\uffff' };
    for (const { value } of this.journal.getRange(range)) out.push(value);
    return out;
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
    if (this.pending === 0 && this.indexed.size >= INDEX_CACHE_LIMIT) this.indexed.clear();
    const seq = this.journalSeq;
    let last: Promise<boolean> | undefined;
    let unstorable: Set<string> | undefined;
    let firstError: unknown;
    for (const w of batch) {
      try {
        last = this.apply(w) ?? last;
      } catch (err) {
        // lmdb-js encodes in put(), before queueing: a value its encoder cannot take (too
        // deep, a function) or a key past LMDB's key size throws here and queues nothing,
        // so leaving that write out keeps the rest of the transaction whole.
        (unstorable ??= new Set()).add(w.path);
        firstError ??= err;
      }
    }
    if (this.journalSeq !== seq) last = this.meta.put(this.seqName, this.journalSeq);
    // Compaction rides along with regular writes, in the same transaction.
    if (this.journalWrites >= 1000) {
      this.journalWrites = 0;
      last = this.compactJournal(this.newestJournal - this.retentionMs) ?? last;
    }
    if (last) {
      this.pending++;
      const committed = last.finally(() => this.pending--);
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
    const out: string[] = [];
    for (const { value } of this.timers.getRange({ end: bucketKey(until) + SEP + '\uffff' })) {
      if (out.length >= limit) break;
      out.push(value);
    }
    return out;
  }

  /** The earliest indexed timer bucket at or after `after` (epoch ms of its start), if any. */
  nextDue(after: number): number | undefined {
    for (const key of this.timers.getKeys({ start: bucketKey(after), limit: 1 })) {
      return Number(String(key).slice(0, 11)) * BUCKET_MS;
    }
    return undefined;
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

  /** Deletes journal entries older than `before` (oldest first, through the time index). */
  private compactJournal(before: number): Promise<boolean> | undefined {
    let last: Promise<boolean> | undefined;
    for (const { key, value: path } of this.journalByTime.getRange({ end: timeKey(Math.max(0, before)) })) {
      const at = key.slice(0, key.length - path.length - 1);
      // `void`: lmdb gives the unconditional writes of one batch one shared commit promise, so the
      // last one returned stands for these too, unless a batch boundary falls between them; then a
      // failed commit of the earlier batch goes unobserved.
      void this.journal.remove(path + SEP + at);
      last = this.journalByTime.remove(key);
    }
    return last;
  }

  /** Queues one write; returns the promise of its commit, if it queued anything. */
  private apply(w: StateWrite): Promise<boolean> | undefined {
    switch (w.op) {
      case 'record': {
        const put = this.records.put(w.path, w.values);
        this.indexTimers(w.path, w.values, w.created === true);
        return put;
      }
      case 'put':
        return this.entries.put(w.path + SEP + w.lane + SEP + w.key, w.value);
      case 'journal': {
        const e = w.entry;
        const at = timeKey(e.time) + SEP + String(this.writerId).padStart(3, '0') + seqKey(++this.journalSeq);
        void this.journal.put(e.path + SEP + at, e); // `void`: see compactJournal
        if (e.time > this.newestJournal) this.newestJournal = e.time;
        this.journalWrites++;
        return this.journalByTime.put(at + SEP + e.path, e.path);
      }
      case 'del': {
        if (w.key !== undefined) return this.entries.remove(w.path + SEP + w.lane + SEP + w.key);
        // A whole lane: only committed keys are visible here (lanes delete by key; see MapLane.clear).
        let last: Promise<boolean> | undefined;
        const from = w.path + SEP + w.lane + SEP;
        for (const key of this.entries.getKeys({ start: from, end: w.path + SEP + w.lane + AFTER_SEP })) last = this.entries.remove(key);
        return last;
      }
    }
  }

  /**
   * Keeps the `timers` index (`bucket ␟ path` → path, bucket of the earliest due timer) and
   * `timer-of` (path → its indexed bucket) in step with a record's `$timers`: a put and a
   * delete only when the earliest timer moves to another minute. The bucket last written
   * for a path is remembered here, because a read would not see a write still in flight.
   */
  private indexTimers(path: string, values: Readonly<Record<string, unknown>>, created: boolean): void {
    const next = earliestBucket(values);
    let previous = this.indexed.get(path);
    if (previous === undefined) previous = created ? NONE : (this.timerOf.get(path) ?? NONE);
    if (previous === next) return;
    this.indexed.set(path, next);
    // `void`: these join the batch of the record write that apply() returns (see compactJournal).
    if (previous !== NONE) void this.timers.remove(previous + SEP + path);
    if (next === NONE) {
      void this.timerOf.remove(path);
    } else {
      void this.timers.put(next + SEP + path, path);
      void this.timerOf.put(path, next);
    }
  }
}

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
 * Takes a data directory for this process (see {@link DataDirLock}) and checks the header
 * of its LMDB file before anything opens it (see {@link checkLmdbHeader}). The node's main
 * thread calls it before its shard workers open the environment; {@link LmdbStateStore.open}
 * calls it too. Release the lock when done.
 */
export function claimDataDir(path: string): DataDirLock {
  mkdirSync(path, { recursive: true });
  const lock = DataDirLock.acquire(path);
  try {
    checkLmdbHeader(path);
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/** An error of LMDB itself (a damaged page, a full map), as opposed to bytes that do not decode. */
function isLmdbError(err: unknown): boolean {
  return err instanceof TwinError || /MDB_|page \d+ not found/.test((err as Error)?.message ?? '');
}

/** Why opening a data directory failed, as a TwinError: damage is TWIN_STORE_CORRUPT, anything else TWIN_STORE_FAILED. */
function openFailure(path: string, err: unknown): TwinError {
  if (err instanceof TwinError && err.code !== 'TWIN_STORE_CORRUPT') return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof TwinError) return new TwinError('TWIN_STORE_CORRUPT', `data directory ${path}: ${message}. The node did not start. Restore the data directory from a backup, or move it aside to start with an empty store`, { dir: path }, { cause: err });
  if (/MDB_(CORRUPTED|PAGE_NOTFOUND|INVALID|VERSION_MISMATCH|BAD_TXN)|page \d+ not found/.test(message)) {
    return new TwinError('TWIN_STORE_CORRUPT',
      `data directory ${path} is damaged (${message}). The node did not start. Restore the data directory from a backup, or move it aside to start with an empty store`,
      { dir: path }, { cause: err });
  }
  return new TwinError('TWIN_STORE_FAILED', `cannot open data directory ${path}: ${message}`, { dir: path }, { cause: err });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : ArrayBuffer.isView(v) ? 'byte array' : typeof v;
}

const NO_ENTRIES: ReadonlyMap<string, ReadonlyMap<string, unknown>> = new Map();

/** No indexed bucket (a twin without due timers). */
const NONE = '';
const INDEX_CACHE_LIMIT = 200_000;

const MAX_TIME = 999_999_999_999_999;
const BUCKET_MS = 60_000;

/** Fixed-width minute bucket of a time, so string order is time order. */
function bucketKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms / BUCKET_MS))).padStart(11, '0');
}

/** The bucket of a record's earliest due timer, or NONE. */
function earliestBucket(values: Readonly<Record<string, unknown>>): string {
  const due = values.$timers as Record<string, number> | undefined;
  let min = Infinity;
  if (due) for (const name in due) if (due[name]! < min) min = due[name]!;
  return min === Infinity ? NONE : bucketKey(min);
}

/** Index entries of a record, for building the index of an older data directory. */
function indexTimers(timers: Database<string, string>, timerOf: Database<string, string>, path: string, values: Readonly<Record<string, unknown>>): void {
  const bucket = earliestBucket(values);
  if (bucket === NONE) return;
  timers.putSync(bucket + SEP + path, path);
  timerOf.putSync(path, bucket);
}

/**
 * Compares strings in LMDB's key order (UTF-8 bytes, i.e. code points), which differs
 * from JavaScript's `<` (UTF-16 units) only for characters past U+D7FF.
 */
function keyOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
}

/** The path part of an `entries` key. */
function entryPath(key: string): string {
  return key.slice(0, key.indexOf(SEP));
}

/** Fixed-width decimal so string order is time order (ms up to year 33658). */
function timeKey(ms: number): string {
  return String(Math.floor(ms)).padStart(15, '0');
}

function seqKey(seq: number): string {
  return String(seq).padStart(12, '0');
}
