/**
 * The commit promises of one `StateStore.write` batch. lmdb-js queues asynchronous writes into
 * a transaction and gives every write of that transaction the same promise, so a batch usually
 * collects one; a long batch can straddle two transactions, and then the first one's failure
 * must fail the batch too (before, only the last write's promise was awaited: a failed earlier
 * transaction went unseen by the acknowledgements and surfaced as an unhandled rejection).
 *
 * @example
 * ```ts
 * const commits = new Commits();
 * commits.add(db.put('a', 1));
 * commits.add(db.put('b', 2)); // the same promise: not added twice
 * await commits.settled();
 * ```
 */
export class Commits {
  private readonly distinct: Promise<boolean>[] = [];
  private last: Promise<boolean> | undefined;

  /** Adds a queued write's promise (no-op for one already added, the common case). */
  add(p: Promise<boolean> | undefined): void {
    if (p === undefined || p === this.last) return;
    this.last = p;
    if (!this.distinct.includes(p)) this.distinct.push(p);
  }

  get empty(): boolean {
    return this.distinct.length === 0;
  }

  /** Resolves when every transaction of the batch committed; rejects with the first failure. */
  settled(): Promise<unknown> {
    return this.distinct.length === 1 ? this.distinct[0]! : Promise.all(this.distinct);
  }
}
