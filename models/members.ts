import { SortedSet } from '../src/model/index.js';

/**
 * Sorted member lists (room and sensor paths) that a level keeps of its children: one
 * child's members changed from `old` to `next`, what is the level's list now? This runs
 * for every child update of every level, and a building's list holds hundreds of paths,
 * so the answer costs one new array (lane values are immutable), built by one forward walk
 * over the child's old and new members, and nothing when the list does not change. Going through
 * a {@link SortedSet} instead copies the list twice and builds a `Set` of `next`: ~3x the
 * bytes of the result per update.
 */

const NONE: readonly string[] = [];

/**
 * `current` (sorted, without duplicates: a list this module or {@link SortedSet} made)
 * without the members of `old` that `next` no longer has, and with those of `next`: the
 * same list `SortedSet.fromSorted(current).replaceMembers(old, next)` leaves. Returns
 * `current` itself when nothing changes.
 *
 * Precondition: `current` holds every member of `old` (a parent's list is built from its
 * children's lists and changed only here, with `old` the child's entry it last applied).
 * That is what lets the walk skip the members `old` and `next` share at their start and
 * end (both sorted, so no member of the rest is among them): a child's update usually adds
 * or drops one member of a list of dozens of long paths, and the walk, which runs twice
 * and compares each member by content with its neighbours in `current`, was most of a
 * building's join turn.
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
  // The shared start and end (identical strings, usually: the child built `next` from `old`'s).
  let lo = 0;
  const shorter = Math.min(before.length, after.length);
  while (lo < shorter && before[lo] === after[lo]) lo++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > lo && endAfter > lo && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  if (lo === endBefore && lo === endAfter) return current; // the same members
  const delta = mergeEdits(current, before, endBefore, after, endAfter, lo, null);
  if (edits === 0) return current;
  const out = new Array<string>(current.length + delta);
  mergeEdits(current, before, endBefore, after, endAfter, lo, out);
  return out;
}

/** Edits the last {@link mergeEdits} found (module state: the walk runs twice per change, and never re-enters). */
let edits = 0;

/**
 * Walks `old[from … oldEnd)` and `next[from … nextEnd)` merged (both sorted), finding each
 * member's place in `current` with a cursor that only moves forward: a child's members sit
 * next to each other in its parent's list, so each costs a comparison or two instead of a
 * binary search of the whole list. A member of `old` only that `current` has is removed; a member of `next` that
 * `current` lacks is added. Counts the edits into {@link edits} and returns the change in
 * size; with `out`, also writes the edited list there.
 */
function mergeEdits(
  current: readonly string[],
  old: readonly string[],
  oldEnd: number,
  next: readonly string[],
  nextEnd: number,
  from: number,
  out: string[] | null,
): number {
  let i = from;
  let j = from;
  let c = 0;
  let w = 0;
  let delta = 0;
  edits = 0;
  while (i < oldEnd || j < nextEnd) {
    let member: string;
    let inNext = true;
    if (j === nextEnd || (i < oldEnd && old[i]! < next[j]!)) {
      member = old[i++]!;
      inNext = false;
    } else {
      member = next[j++]!;
      if (i < oldEnd && old[i] === member) i++;
    }
    const at = gallop(current, member, c);
    if (out !== null) while (c < at) out[w++] = current[c++]!;
    c = at;
    const present = current[at] === member;
    if (inNext && !present) {
      edits++;
      delta++;
      if (out !== null) out[w++] = member;
    } else if (!inNext && present) {
      edits++;
      delta--;
      c++; // skipped: current[at] is the member
    }
  }
  if (out !== null) while (c < current.length) out[w++] = current[c++]!;
  return delta;
}

/**
 * The first index at or after `lo` whose member is not less than `member`: steps of 1, 2,
 * 4, … from `lo`, then a binary search inside the last step, so a member close to `lo`
 * costs a comparison or two.
 */
function gallop(list: readonly string[], member: string, lo: number): number {
  const n = list.length;
  if (lo >= n || !(list[lo]! < member)) return lo;
  let below = lo; // list[below] < member
  let step = 1;
  let hi = lo + 1;
  while (hi < n && list[hi]! < member) {
    below = hi;
    step <<= 1;
    hi = below + step;
  }
  return lowerBound(list, member, below + 1, Math.min(hi, n));
}

/** The first index in [lo, hi) whose member is not less than `member`, or hi (the list is sorted). */
function lowerBound(list: readonly string[], member: string, lo: number, hi: number): number {
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
