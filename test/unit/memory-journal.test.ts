/**
 * MemoryJournal (src/store/memory-journal.ts): a journaling runtime on the memory store kept
 * every turn of every twin until the process ended. Entries older than the retention before
 * a twin's newest are dropped, and a position handed out before stays a valid cursor; the
 * pages are what a plain list of the kept entries gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryJournal } from '../../src/store/memory-journal.js';
import type { HistoryQuery, JournalEntry } from '../../src/store/state-store.js';

function entry(time: number, seq: number): JournalEntry {
  return { path: '/p/1', time, seq, cause: { kind: 'timer', name: 't' }, changes: [] };
}

/** Every page of a range, following `next`. */
function pages(j: MemoryJournal, query: Omit<HistoryQuery, 'after'>): number[] {
  const seen: number[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = j.history('/p/1', { ...query, ...(after !== undefined && { after }) });
    seen.push(...page.entries.map((e) => e.seq));
    if (page.next === null) return seen;
    after = page.next;
  }
  throw new Error('no end of pages');
}

describe('MemoryJournal', () => {
  it('keeps the entries within the retention before the newest; pages and counts read only those', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.boolean(),
        (gaps, retention, limit, newestFirst) => {
          const j = new MemoryJournal(retention);
          const all: JournalEntry[] = [];
          let t = 0;
          for (const gap of gaps) {
            t += gap;
            const e = entry(t, all.length);
            all.push(e);
            j.append('/p/1', e);
          }
          // What is kept: the entries from the oldest one within the retention on (times only grow).
          const kept = all.filter((e) => e.time >= t - retention).map((e) => e.seq);
          const query = { from: -Infinity, to: Infinity, limit, newestFirst };
          expect(pages(j, query)).toEqual(newestFirst ? [...kept].reverse() : kept);
          // A count stops at the query's limit ("at least limit").
          expect(j.history('/p/1', { ...query, countOnly: true }).count).toBe(Math.min(kept.length, limit));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a cursor from before entries were dropped still reads on from where it was', () => {
    const j = new MemoryJournal(1000); // kept: times from the newest's minus 1000 on
    for (let i = 0; i < 5000; i++) j.append('/p/1', entry(i, i));
    const first = j.history('/p/1', { from: -Infinity, to: Infinity, limit: 10 });
    expect(first.entries.map((e) => e.seq)).toEqual([3999, 4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4008]);
    // Far more appended: the page's cursor now points at a dropped entry, and the list was compacted.
    for (let i = 5000; i < 9000; i++) j.append('/p/1', entry(i, i));
    const next = j.history('/p/1', { from: -Infinity, to: Infinity, limit: 3, after: first.next! });
    expect(next.entries.map((e) => e.seq)).toEqual([7999, 8000, 8001]);
    const onward = j.history('/p/1', { from: -Infinity, to: Infinity, limit: 3, after: next.next! });
    expect(onward.entries.map((e) => e.seq)).toEqual([8002, 8003, 8004]);
    j.forget('/p/1');
    expect(j.history('/p/1', { from: -Infinity, to: Infinity, limit: 3 }).entries).toEqual([]);
  });

  it('refuses a retention that is no duration', () => {
    for (const bad of [-1, Number.NaN])
      expect(() => new MemoryJournal(bad)).toThrow(/journalRetentionMs must be at least 0 ms/);
    expect(() => new MemoryJournal(Infinity)).not.toThrow();
  });

  it('counts from the newest back no further than the limit, and every entry after a clock that stepped back', () => {
    const j = new MemoryJournal();
    for (const [i, t] of [10, 20, 30, 40].entries()) j.append('/p/1', entry(t, i));
    const count = (from: number, limit = 100): number | undefined =>
      j.history('/p/1', { from, to: Infinity, limit, countOnly: true }).count;
    expect([count(25), count(0), count(0, 3)]).toEqual([2, 4, 3]);
    // A wall clock stepped back (NTP, a resumed VM): an older time after newer ones.
    j.append('/p/1', entry(5, 4));
    j.append('/p/1', entry(50, 5));
    expect([count(25), count(0)]).toEqual([3, 6]);
  });
});
