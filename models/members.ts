import { SortedSet } from '../src/model/index.js';

/**
 * Sorted member lists (room and sensor paths) that a level keeps of its children: one
 * child's members changed from `old` to `next`, what is the level's list now? This runs
 * for every child update of every level, and a building's list holds hundreds of paths,
 * so the answer costs one new array (lane values are immutable), built from a handful of
 * binary searches and the copy, and nothing when the list does not change. Going through
 * a {@link SortedSet} instead copies the list twice and builds a `Set` of `next`: ~3x the
 * bytes of the result per update.
 */

const NONE: readonly string[] = [];

/**
 * `current` (sorted, without duplicates: a list this module or {@link SortedSet} made)
 * without the members of `old` that `next` no longer has, and with those of `next`: the
 * same list `SortedSet.fromSorted(current).replaceMembers(old, next)` leaves. Returns
 * `current` itself when nothing changes.
 */
export function replaceMembers(
  current: string[],
  old: readonly string[] | null | undefined,
  next: readonly string[] | null | undefined,
): string[] {
  const before = old ?? NONE;
  const after = next ?? NONE;
  // A child's list is sorted (it was made here); anything else takes the general path.
  if (!strictlySorted(before) || !strictlySorted(after)) {
    const set = SortedSet.fromSorted(current);
    return set.replaceMembers(before, after) ? set.toArray() : current;
  }
  const firstRemoval = nextRemoval(current, before, after, 0);
  const firstAddition = nextAddition(current, after, 0);
  if (firstRemoval === before.length && firstAddition === after.length) return current;
  let size = current.length;
  for (let o = firstRemoval; o < before.length; o = nextRemoval(current, before, after, o + 1)) size--;
  for (let n = firstAddition; n < after.length; n = nextAddition(current, after, n + 1)) size++;

  // The edits in member order, each copying the run of `current` before it.
  const out = new Array<string>(size);
  let c = 0;
  let w = 0;
  let o = firstRemoval;
  let n = firstAddition;
  while (o < before.length || n < after.length) {
    const removing = n === after.length || (o < before.length && before[o]! < after[n]!);
    const member = removing ? before[o]! : after[n]!;
    const at = lowerBound(current, member, c);
    while (c < at) out[w++] = current[c++]!;
    if (removing) {
      c++; // current[at] is the member
      o = nextRemoval(current, before, after, o + 1);
    } else {
      out[w++] = member;
      n = nextAddition(current, after, n + 1);
    }
  }
  while (c < current.length) out[w++] = current[c++]!;
  return out;
}

/** Index of the first member of `old` from `from` on that `next` lacks and `current` has, or old.length. */
function nextRemoval(
  current: readonly string[],
  old: readonly string[],
  next: readonly string[],
  from: number,
): number {
  for (let i = from; i < old.length; i++) {
    const member = old[i]!;
    if (next[lowerBound(next, member, 0)] !== member && current[lowerBound(current, member, 0)] === member) return i;
  }
  return old.length;
}

/** Index of the first member of `next` from `from` on that `current` lacks, or next.length. */
function nextAddition(current: readonly string[], next: readonly string[], from: number): number {
  for (let i = from; i < next.length; i++) {
    const member = next[i]!;
    if (current[lowerBound(current, member, 0)] !== member) return i;
  }
  return next.length;
}

/** The first index at or after `lo` whose member is not less than `member` (the list is sorted). */
function lowerBound(list: readonly string[], member: string, lo: number): number {
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < member) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function strictlySorted(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (!(list[i - 1]! < list[i]!)) return false;
  return true;
}
