/**
 * Incremental aggregates for join hooks: each update costs O(1) (or O(log n) for the
 * sorted set), never a recompute over all children.
 */

/**
 * A running sum and count with Neumaier compensation, so a long stream of
 * add/replace/remove deltas does not drift away from the true sum.
 *
 * @example
 * ```ts
 * const temps = new SumCount();
 * temps.replace(undefined, 21); temps.replace(21, 23); temps.mean; // 23
 * ```
 */
export class SumCount {
  sum = 0;
  count = 0;
  private compensation = 0;

  constructor(state?: { sum: number; count: number }) {
    if (state) {
      this.sum = state.sum;
      this.count = state.count;
    }
  }

  /** Replaces a member's contribution; null/undefined means "no value" on either side. */
  replace(old: number | null | undefined, next: number | null | undefined): void {
    const hadOld = typeof old === 'number' && Number.isFinite(old);
    const hasNext = typeof next === 'number' && Number.isFinite(next);
    if (hadOld) this.add(-old, -1);
    if (hasNext) this.add(next, 1);
  }

  /** Adds a partial aggregate (a child's own sum and count) as a delta. */
  merge(
    old: { sum: number; count: number } | null | undefined,
    next: { sum: number; count: number } | null | undefined,
  ): void {
    if (old) this.add(-old.sum, -old.count);
    if (next) this.add(next.sum, next.count);
  }

  get mean(): number | null {
    return this.count > 0 ? this.total / this.count : null;
  }

  get total(): number {
    return this.count === 0 ? 0 : this.sum + this.compensation;
  }

  toJSON(): { sum: number; count: number } {
    return { sum: this.total, count: this.count };
  }

  private add(value: number, count: number): void {
    const t = this.sum + value;
    this.compensation += Math.abs(this.sum) >= Math.abs(value) ? this.sum - t + value : value - t + this.sum;
    this.sum = t;
    this.count += count;
    if (this.count === 0) {
      this.sum = 0;
      this.compensation = 0;
    }
  }
}

/**
 * A sorted set of strings with binary-search insert and delete.
 *
 * @example
 * ```ts
 * const s = new SortedSet(['b']); s.add('a'); s.toArray(); // ['a', 'b']
 * ```
 */
export class SortedSet {
  private items: string[];

  constructor(items: Iterable<string> = []) {
    this.items = [...new Set(items)].sort();
  }

  /**
   * Adopts a copy of a list that is already sorted and duplicate-free (such as a lane
   * value this class produced): O(n) instead of a sort, which matters when it runs on
   * every update of a large aggregate.
   */
  static fromSorted(items: readonly string[]): SortedSet {
    const set = new SortedSet();
    set.items = items.slice();
    return set;
  }

  get size(): number {
    return this.items.length;
  }

  has(item: string): boolean {
    const i = this.search(item);
    return this.items[i] === item;
  }

  add(item: string): boolean {
    const i = this.search(item);
    if (this.items[i] === item) return false;
    this.items.splice(i, 0, item);
    return true;
  }

  delete(item: string): boolean {
    const i = this.search(item);
    if (this.items[i] !== item) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Applies the difference between two sorted lists (a child's old and new members). */
  replaceMembers(old: readonly string[] | null | undefined, next: readonly string[] | null | undefined): boolean {
    let changed = false;
    const nextSet = new Set(next ?? []);
    for (const o of old ?? []) if (!nextSet.has(o)) changed = this.delete(o) || changed;
    for (const n of nextSet) changed = this.add(n) || changed;
    return changed;
  }

  /** A copy, safe to publish as an immutable lane value. */
  toArray(): string[] {
    return this.items.slice();
  }

  private search(item: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < item) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
