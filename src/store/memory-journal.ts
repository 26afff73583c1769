import { TwinError } from '../errors.js';
import { historyPosition, type HistoryPage, type HistoryQuery, type JournalEntry } from './state-store.js';

/** How long journal entries are kept by default: the same as LMDB's `journalRetentionMs`. */
export const DEFAULT_MEMORY_JOURNAL_RETENTION_MS = 7 * 86_400_000;

/** Dropped entries are let go of in one copy once this many (and half the list) are dropped. */
const COMPACT_FROM = 1024;

/**
 * One twin's journal: `entries[head…]` are kept, in the order they were appended; the entry
 * at index i has sequence `base + i`, so a position handed out stays valid while older
 * entries are dropped.
 */
interface PathJournal {
  entries: (JournalEntry | undefined)[];
  head: number;
  base: number;
  /** An entry came with an earlier time than the one before it (a wall clock stepped back). */
  unordered: boolean;
}

/**
 * The journal of {@link MemoryStateStore}: per twin, every committed turn's changes (see
 * {@link StateStore.history}), kept for `retentionMs` before the twin's newest entry, as
 * LMDB keeps its journal for `journalRetentionMs`. Without it a journaling runtime on the
 * memory store held every turn of every twin until the process ended.
 */
export class MemoryJournal {
  private readonly byPath = new Map<string, PathJournal>();

  constructor(private readonly retentionMs = DEFAULT_MEMORY_JOURNAL_RETENTION_MS) {
    // NaN would keep everything; a negative retention would drop even the entry just appended.
    if (!(retentionMs >= 0))
      throw new TwinError('TWIN_CONFIG_INVALID', `journalRetentionMs must be at least 0 ms, got ${retentionMs}`);
  }

  append(path: string, entry: JournalEntry): void {
    let j = this.byPath.get(path);
    if (!j) this.byPath.set(path, (j = { entries: [], head: 0, base: 0, unordered: false }));
    const last = j.entries[j.entries.length - 1];
    if (last !== undefined && entry.time < last.time) j.unordered = true;
    j.entries.push(entry);
    const oldest = entry.time - this.retentionMs;
    while (j.head < j.entries.length && j.entries[j.head]!.time < oldest) j.entries[j.head++] = undefined;
    if (j.head >= COMPACT_FROM && 2 * j.head >= j.entries.length) {
      j.entries = j.entries.slice(j.head);
      j.base += j.head;
      j.head = 0;
    }
  }

  forget(path: string): void {
    this.byPath.delete(path);
  }

  /** One page of a twin's journal, in the order it was appended (see {@link HistoryQuery}). */
  history(path: string, query: HistoryQuery): HistoryPage {
    const j = this.byPath.get(path);
    if (!j) return query.countOnly ? { entries: [], next: null, count: 0 } : { entries: [], next: null };
    const { entries, head, base } = j;
    const inRange = (e: JournalEntry): boolean => e.time >= query.from && e.time <= query.to;
    if (query.countOnly) {
      // From the newest back (a past-state read counts what lies after its time), no further
      // than the limit; while times only grew, an entry before `from` ends the count.
      let count = 0;
      for (let i = entries.length - 1; i >= head && count < query.limit; i--) {
        const e = entries[i]!;
        if (e.time < query.from && !j.unordered) break;
        if (inRange(e)) count++;
      }
      return { entries: [], next: null, count };
    }
    const step = query.newestFirst ? -1 : 1;
    // A position's sequence is base + index; one of an entry dropped since is before every kept one.
    const after = query.after === undefined ? undefined : Number(query.after.slice(18)) - base;
    let i = after !== undefined ? after + step : step > 0 ? head : entries.length - 1;
    if (i < head) i = step > 0 ? head : -1;
    const out: JournalEntry[] = [];
    let last = -1;
    for (; i >= head && i < entries.length; i += step) {
      const e = entries[i]!;
      if (!inRange(e)) continue;
      if (out.length === query.limit)
        return { entries: out, next: historyPosition(entries[last]!.time, 0, base + last) };
      out.push(e);
      last = i;
    }
    return { entries: out, next: null };
  }
}
