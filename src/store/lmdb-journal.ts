import type { Database } from 'lmdb';
import type { JournalEntry } from './state-store.js';
import { MAX_TIME, SEP, seqKey, timeKey } from './lmdb-keys.js';
import type { Commits } from './lmdb-commits.js';

/** Journal writes between two compactions. */
const COMPACT_EVERY = 1000;

/**
 * The journal of committed turns: `journal` (`path ␟ time writer seq` → entry, so one
 * twin's history is one key range in time order) and `journal-by-time` (`time writer seq ␟
 * path` → path, the index compaction walks oldest first). Keys carry the writer id and a
 * per-writer sequence, persisted in `meta`, so writers sharing the environment (shard
 * workers) never collide, also across restarts. Entries older than the retention
 * (relative to the newest entry) are deleted as writes go on, in the same transactions.
 *
 * @example
 * ```ts
 * journal.append(entry, commits); // queued with the batch's other writes
 * journal.afterBatch(commits);    // the sequence and, now and then, a compaction
 * journal.history('/room/1', 0, Date.now());
 * ```
 */
export class LmdbJournal {
  private newest = 0;
  private writes = 0;
  /** Key sequence of this writer, persisted in `meta` so keys stay unique across restarts. */
  private seq: number;
  /** The sequence as last queued for `meta`. */
  private savedSeq: number;

  constructor(
    private readonly journal: Database<JournalEntry, string>,
    private readonly byTime: Database<string, string>,
    private readonly meta: Database<unknown, string>,
    private readonly writerId: number,
    private readonly retentionMs: number,
  ) {
    this.seq = (meta.get(this.seqName) as number | undefined) ?? 0;
    this.savedSeq = this.seq;
  }

  private get seqName(): string {
    return `journalSeq:${this.writerId}`;
  }

  /** Queues one entry into the batch's transaction, adding its commit to `commits`. */
  append(e: JournalEntry, commits: Commits): void {
    const at = timeKey(e.time) + SEP + String(this.writerId).padStart(3, '0') + seqKey(++this.seq);
    commits.add(this.journal.put(e.path + SEP + at, e));
    if (e.time > this.newest) this.newest = e.time;
    this.writes++;
    commits.add(this.byTime.put(at + SEP + e.path, e.path));
  }

  /**
   * At the end of a batch: queues the new sequence (when entries were appended) and, every
   * {@link COMPACT_EVERY} entries, a compaction, in the batch's transaction; their commits go
   * to `commits`.
   */
  afterBatch(commits: Commits): void {
    if (this.seq !== this.savedSeq) {
      this.savedSeq = this.seq;
      commits.add(this.meta.put(this.seqName, this.seq));
    }
    // Compaction rides along with regular writes, in the same transaction.
    if (this.writes >= COMPACT_EVERY) {
      this.writes = 0;
      this.compact(this.newest - this.retentionMs, commits);
    }
  }

  /** A twin's journal entries with `from <= time <= to`, oldest first. */
  history(path: string, from: number, to: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    const range = {
      start: path + SEP + timeKey(Math.max(0, from)),
      end: path + SEP + timeKey(Math.min(to, MAX_TIME)) + SEP + '\uffff',
    };
    for (const { value } of this.journal.getRange(range)) out.push(value);
    return out;
  }

  /** Deletes journal entries older than `before` (oldest first, through the time index). */
  private compact(before: number, commits: Commits): void {
    for (const { key, value: path } of this.byTime.getRange({ end: timeKey(Math.max(0, before)) })) {
      const at = key.slice(0, key.length - path.length - 1);
      commits.add(this.journal.remove(path + SEP + at));
      commits.add(this.byTime.remove(key));
    }
  }
}
