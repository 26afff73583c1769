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

/**
 * A parent's list kept by replaceMembers over many child updates, against a plain model
 * (a Set, sorted when compared): long lists (the galloping cursor takes long steps), a
 * child's members in one run of the parent's list (paths under the child) or spread out,
 * empty lists, members that several children list, and members moving between children.
 */
describe('replaceMembers over a sequence of child updates', () => {
  const pathOf = (i: number): string => `/org/o/site/s/building/b/floor/${i % 5}/unit/u${String(i).padStart(4, '0')}`;
  const update = fc.record({
    child: fc.integer({ min: 0, max: 5 }),
    // The child's new members: a run of the member space, some picked out of anywhere, or
    // none; of those, the ones in the child's own part of the space (member i belongs to
    // child i % 6), as a building's rooms and sensors each have one parent: replaceMembers
    // assumes the parent's list holds every member of a child's old list, which a member
    // listed by two children at once would break (the other child's removal drops it).
    start: fc.integer({ min: 0, max: 2999 }),
    length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
    picked: fc.array(fc.integer({ min: 0, max: 2999 }), { maxLength: 8 }),
    drop: fc.integer({ min: 0, max: 3 }),
  });

  it('keeps the list the plain model keeps, and the same object when nothing changes', () => {
    fc.assert(
      fc.property(fc.array(update, { minLength: 1, maxLength: 30 }), (updates) => {
        const children: string[][] = Array.from({ length: 6 }, () => []);
        let list: string[] = [];
        const model = new Set<string>();
        for (const u of updates) {
          const members = new Set<string>();
          const own = (i: number): boolean => i % 6 === u.child;
          for (let i = u.start; i < Math.min(3000, u.start + u.length); i++)
            if (i % 4 !== u.drop && own(i)) members.add(pathOf(i));
          for (const p of u.picked) if (own(p)) members.add(pathOf(p));
          const old = children[u.child]!;
          const next = [...members].sort();
          children[u.child] = next;
          const before = list;
          list = replaceMembers(list, old, next);
          const nextSet = new Set(next);
          for (const m of old) if (!nextSet.has(m)) model.delete(m);
          for (const m of next) model.add(m);
          const expected = [...model].sort();
          expect(list).toEqual(expected);
          expect(list === before).toBe(expected.length === before.length && expected.every((m, i) => m === before[i]));
        }
      }),
      { numRuns: 300 },
    );
  });
});
