import type { Database } from 'lmdb';
import type { HistoryPage, HistoryQuery, JournalEntry } from './state-store.js';
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
 * journal.history('/room/1', { from: 0, to: Date.now(), limit: 1000 }); // { entries, next }
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

  /**
   * One page of a twin's journal (see {@link HistoryQuery}): a cursor over its key range,
   * read no further than the page and one entry past it (to tell whether more follow).
   * A position is the key's part after the path without its separator; the page starts at
   * that key and skips it, so an entry appended meanwhile is neither skipped nor repeated.
   */
  history(path: string, query: HistoryQuery): HistoryPage {
    const from = Math.max(0, query.from);
    const to = Math.min(query.to, MAX_TIME);
    // timeKey is fixed-width only up to MAX_TIME: a later `from` would sort before it.
    if (from > to) return { entries: [], next: null };
    const prefix = path + SEP;
    const low = prefix + timeKey(from);
    const high = prefix + timeKey(to) + SEP + '\uffff';
    // Keys only, nothing decoded, and no further than `limit` (lmdb-js's getKeysCount ignores
    // a limit: it walked a busy twin's whole week of journal for every past-state read).
    if (query.countOnly) {
      let count = 0;
      for (const _ of this.journal.getKeys({ start: low, end: high, limit: query.limit })) count++;
      return { entries: [], next: null, count };
    }
    const resume =
      query.after === undefined ? undefined : prefix + query.after.slice(0, 15) + SEP + query.after.slice(15);
    // lmdb-js reads `reverse` ranges from `start` down to `end` (exclusive).
    const range = query.newestFirst
      ? { start: resume !== undefined && resume < high ? resume : high, end: low, reverse: true }
      : { start: resume !== undefined && resume > low ? resume : low, end: high };
    const entries: JournalEntry[] = [];
    let last = '';
    for (const { key, value } of this.journal.getRange({ ...range, limit: query.limit + 2 })) {
      if (key === resume) continue;
      if (entries.length === query.limit) return { entries, next: last.slice(prefix.length).replace(SEP, '') };
      entries.push(value);
      last = key;
    }
    return { entries, next: null };
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
