/**
 * models/members.ts against the SortedSet path it replaced: for any sorted list that holds
 * a child's old members (replaceMembers' precondition: a parent's list includes what each
 * child last sent) and any old and new members (sorted or not, sharing a start and end or
 * not), the same list, and the same list object back when nothing changes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replaceMembers } from '../../models/members.js';
import { SortedSet } from '../../src/model/index.js';

/** What applyMembers did before: the reference. */
function viaSortedSet(current: string[], old: readonly string[] | null, next: readonly string[] | null): string[] {
  const set = SortedSet.fromSorted(current);
  return set.replaceMembers(old, next) ? set.toArray() : current;
}

// Few distinct members, so lists, old and next overlap often; paths share long prefixes as room paths do.
const member = fc.integer({ min: 0, max: 30 }).map((i) => `/org/o/site/s/building/b/floor/${i % 7}/unit/u${i}`);
const sortedList = fc.uniqueArray(member, { maxLength: 20 }).map((l) => [...l].sort());
const childList = fc.oneof(
  sortedList,
  fc.array(member, { maxLength: 6 }), // unsorted, possibly with duplicates: the general path
  fc.constant(null),
);

/** A child's new members made from its old ones as a model makes them: some kept, some added. */
const updatedList = (old: string[] | null) =>
  fc.oneof(
    childList,
    fc
      .tuple(fc.subarray(old ?? []), fc.array(member, { maxLength: 3 }))
      .map(([kept, added]) => [...new Set([...kept, ...added])].sort()),
  );

describe('replaceMembers (models/members.ts)', () => {
  it('leaves the list SortedSet.replaceMembers leaves, and the same object when nothing changes', () => {
    const scenario = fc
      .tuple(sortedList, childList)
      .chain(([others, old]) =>
        fc.tuple(fc.constant([...new Set([...others, ...(old ?? [])])].sort()), fc.constant(old), updatedList(old)),
      );
    fc.assert(
      fc.property(scenario, ([current, old, next]) => {
        const frozen = [...current];
        const expected = viaSortedSet([...current], old, next);
        const got = replaceMembers(current, old, next);
        expect(got).toEqual(expected);
        expect(current).toEqual(frozen); // the lane's value is never changed in place
        expect(got === current).toBe(expected.length === current.length && expected.every((m, i) => m === current[i]));
      }),
      { numRuns: 3000 },
    );
  });

  it('applies a child moving one member in or out of a long list', () => {
    const rooms = Array.from({ length: 500 }, (_, i) => `/r/${String(i).padStart(3, '0')}`);
    const listed = rooms.filter((_, i) => i % 2 === 0);
    const added = replaceMembers(listed, ['/r/000'], ['/r/000', '/r/001']);
    expect(added).toEqual([...listed, '/r/001'].sort());
    const removed = replaceMembers(added, ['/r/000', '/r/001'], ['/r/001']);
    expect(removed).toEqual(added.filter((r) => r !== '/r/000'));
    expect(replaceMembers(removed, ['/r/001'], ['/r/001'])).toBe(removed);
  });
});
