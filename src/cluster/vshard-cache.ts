import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { AFTER_SEP, SEP, entryKey } from '../store/lmdb-keys.js';
import { claimDataDir } from '../store/lmdb-open.js';
import type { DataDirLock } from '../store/data-lock.js';
import { Commits } from '../store/lmdb-commits.js';
import type { StateWrite } from '../store/state-store.js';
import type { TwinLogger } from '../model/twin-model.js';

/**
 * Where the local copy of a vshard stands against its state log. It is current only while
 * the log's last message is still the one named here (same stream, sequence and epoch):
 * every append of any owner (a commit, a snapshot, a new owner's claim) moves the sequence.
 */
export interface CacheMark {
  /** Creation time of the state stream (a space deleted and made again starts its sequences over). */
  readonly stream: string;
  /** Sequence of the log's last message the copy includes. */
  readonly seq: number;
  /** Epoch that message was written under. */
  readonly epoch: number;
  /** Highest input sequence the state includes (what the log would have said). */
  readonly watermark: number;
  /** Log messages since the last snapshot (compaction stays due where it was). */
  readonly sinceSnapshot: number;
  /** The vshard's join epochs (see JoinEpochs) as of that message. */
  readonly joinEpochs: readonly (readonly [number, number])[];
}

interface StoredMark extends CacheMark {
  /** Key generation the copy is written under (older generations are garbage). */
  readonly gen: string;
}

/**
 * A node's local copy of the state of the vshards it owns, in LMDB (`--data` with
 * `--cluster`), so a node that restarts, or a cluster that restarts whole, takes its
 * vshards back without reading their logs when nobody wrote to them in between.
 *
 * JetStream stays the truth: the copy is written after each append succeeded, never waited
 * for, and trusted only when {@link current} finds its mark equal to the log's last
 * message. Writes are queued in order on lmdb-js's write thread: a commit's records and
 * entries first, its mark last, so a mark never names state the copy does not hold (a
 * crash in between leaves an older mark, which the log has moved past: not current).
 *
 * A replaced copy is written under a new key generation and the mark switched to it last;
 * the old generation is removed afterwards. So no read ever has to wait for earlier
 * uncommitted writes to become visible before deciding what to delete.
 */
export class VshardCache {
  private readonly records: Database<Readonly<Record<string, unknown>>, string>;
  private readonly entries: Database<unknown, string>;
  private readonly marks: Database<StoredMark, string>;
  /** The generation each vshard's copy is written under now (absent: no copy). */
  private readonly gens = new Map<number, string>();
  /** The last queued write per vshard: garbage is collected only after it committed. */
  private readonly lastWrite = new Map<number, Promise<unknown>>();
  private closed = false;
  /** A write failed (disk full, I/O error): the copy is given up until the next start. */
  private failed = false;

  private constructor(
    private readonly root: RootDatabase,
    private readonly lock: DataDirLock,
    private readonly log: TwinLogger,
  ) {
    this.records = root.openDB({ name: 'cluster-records', encoding: 'msgpack' });
    this.entries = root.openDB({ name: 'cluster-entries', encoding: 'msgpack' });
    this.marks = root.openDB({ name: 'cluster-marks', encoding: 'msgpack' });
  }

  /**
   * Opens (creating) the copy in `<dataDir>/cluster`. The directory belongs to this process
   * (the data directory lock: two nodes on one directory would trust each other's copies).
   * `noSync`: a copy a crash of the machine rolled back is still consistent (LMDB keeps
   * transactions whole and in order) and merely older, so the log restores it.
   */
  static open(dataDir: string, log: TwinLogger): VshardCache {
    const lock = claimCacheDir(dataDir);
    try {
      const path = join(dataDir, CACHE_DIR);
      return new VshardCache(
        open({ path, maxDbs: 12, noSync: true, mapSize: 64 * 2 ** 30, noSubdir: false }),
        lock,
        log,
      );
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** The vshard's copy as writes into an empty store, if its mark equals the log's last message. */
  current(vshard: number, head: { stream: string; seq: number; epoch: number }): CacheMark | undefined {
    if (this.failed) return undefined;
    const mark = this.marks.get(markKey(vshard));
    if (mark === undefined || mark.stream !== head.stream || mark.seq !== head.seq || mark.epoch !== head.epoch)
      return undefined;
    this.gens.set(vshard, mark.gen);
    void this.collect(vshard, mark.gen);
    return mark;
  }

  /** The state of a vshard {@link current} accepted, as writes that recreate it. */
  read(vshard: number): StateWrite[] {
    const prefix = genPrefix(vshard, this.gens.get(vshard)!);
    const ops: StateWrite[] = [];
    for (const { key, value } of this.records.getRange({ start: prefix, end: prefixEnd(prefix) }))
      ops.push({ op: 'record', path: key.slice(prefix.length), values: value, created: true });
    for (const { key, value } of this.entries.getRange({ start: prefix, end: prefixEnd(prefix) })) {
      const rest = key.slice(prefix.length);
      const a = rest.indexOf(SEP);
      const b = rest.indexOf(SEP, a + 1);
      ops.push({ op: 'put', path: rest.slice(0, a), lane: rest.slice(a + 1, b), key: rest.slice(b + 1), value });
    }
    return ops;
  }

  /** Replaces the vshard's copy with `ops` (a restore from its log), marked `mark`. */
  replace(vshard: number, ops: readonly StateWrite[], mark: CacheMark): void {
    if (this.closed || this.failed) return;
    const gen = randomBytes(6).toString('hex');
    this.gens.set(vshard, gen);
    this.queue(vshard, gen, ops, mark);
    void this.collect(vshard, gen);
  }

  /**
   * Adds a commit (or snapshot, or claim) of the vshard to its copy and moves its mark.
   * Returns a promise only for a commit that deletes a whole lane: its keys are listed from
   * what is committed, so the vshard's earlier writes commit first, and the caller must let
   * this one queue before the next.
   */
  commit(vshard: number, ops: readonly StateWrite[], mark: CacheMark): Promise<void> | undefined {
    const gen = this.gens.get(vshard);
    if (gen === undefined || this.closed || this.failed) return undefined;
    if (!ops.some((w) => w.op === 'del' && w.key === undefined)) {
      this.queue(vshard, gen, ops, mark);
      return undefined;
    }
    return (async () => {
      await this.lastWrite.get(vshard);
      if (this.gens.get(vshard) === gen && !this.closed) this.queue(vshard, gen, ops, mark);
    })();
  }

  /** The vshard moved away: its copy can never be current again (the next owner claims its log). */
  drop(vshard: number): void {
    this.gens.delete(vshard);
    if (this.closed || this.failed) return;
    this.lastWrite.set(vshard, this.watch(this.marks.remove(markKey(vshard))));
    void this.collect(vshard, undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.lastWrite.values());
    await this.root.close();
    this.lock.release();
  }

  private queue(vshard: number, gen: string, ops: readonly StateWrite[], mark: CacheMark): void {
    const prefix = genPrefix(vshard, gen);
    const commits = new Commits();
    // Keys this commit put: a whole-lane delete later in it must see them (reads see committed data only).
    const putHere = new Set<string>();
    try {
      for (const w of ops) {
        if (w.op === 'record') commits.add(this.records.put(prefix + w.path, w.values));
        else if (w.op === 'put') {
          const k = prefix + entryKey(w.path, w.lane, w.key);
          putHere.add(k);
          commits.add(this.entries.put(k, w.value));
        } else if (w.op === 'del') {
          if (w.key !== undefined) commits.add(this.entries.remove(prefix + entryKey(w.path, w.lane, w.key)));
          else {
            const range = laneRange(prefix, w.path, w.lane);
            for (const k of this.entries.getKeys(range)) commits.add(this.entries.remove(k));
            for (const k of putHere)
              if (k.startsWith(range.start)) {
                commits.add(this.entries.remove(k));
                putHere.delete(k);
              }
          }
        }
      }
    } catch (err) {
      // A value the encoder refuses (the log took it, so this is unexpected): no mark may follow.
      this.fail(err);
      return;
    }
    commits.add(this.marks.put(markKey(vshard), { ...mark, gen }));
    this.lastWrite.set(vshard, this.watch(commits.settled()));
  }

  /** A queued write's promise, its failure giving the copy up (never an unhandled rejection). */
  private watch(p: Promise<unknown>): Promise<unknown> {
    return p.catch((err: unknown) => this.fail(err));
  }

  /**
   * Gives the copy up until the next start: a mark committed after a failed transaction
   * could name state the copy lacks, so every mark is removed (trying; a disk that fails
   * that too fails the node's other writes as well).
   */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error(
      { err: (err as Error)?.message ?? String(err) },
      'cluster: the local copy of vshard state failed; restores read the state log',
    );
    try {
      this.marks.clearSync();
    } catch {
      // nothing more to do here: restores read the log while this process runs
    }
  }

  /**
   * Removes every generation of the vshard but `keep` (older copies, a replaced one, what a
   * crash left), once what was queued for it committed. Only the thread that runs the
   * vshard touches its keys, so nothing it removes can be a copy being written elsewhere.
   */
  private async collect(vshard: number, keep: string | undefined): Promise<void> {
    await this.lastWrite.get(vshard);
    if (this.closed || this.failed) return;
    const all = markKey(vshard) + SEP;
    const kept = keep === undefined ? undefined : genPrefix(vshard, keep);
    const range = { start: all, end: prefixEnd(all) };
    const commits = new Commits();
    for (const key of this.records.getKeys(range))
      if (!kept || !key.startsWith(kept)) commits.add(this.records.remove(key));
    for (const key of this.entries.getKeys(range))
      if (!kept || !key.startsWith(kept)) commits.add(this.entries.remove(key));
    if (!commits.empty) await this.watch(commits.settled());
  }
}

/** Where in a node's data directory the copy lives. */
const CACHE_DIR = 'cluster';

/**
 * Makes the copy's directory belong to this process (TWIN_STORE_LOCKED when another live
 * node holds it): the node's main thread claims it before it joins, its workers' opens
 * find their own process named and go ahead.
 */
export function claimCacheDir(dataDir: string): DataDirLock {
  return claimDataDir(join(dataDir, CACHE_DIR));
}

function markKey(vshard: number): string {
  return String(vshard).padStart(4, '0');
}

function genPrefix(vshard: number, gen: string): string {
  return markKey(vshard) + SEP + gen + SEP;
}

function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + AFTER_SEP;
}

function laneRange(prefix: string, path: string, lane: string): { start: string; end: string } {
  const start = prefix + path + SEP + lane + SEP;
  return { start, end: prefixEnd(start) };
}
