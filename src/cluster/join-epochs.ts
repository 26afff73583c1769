/**
 * The highest lease epoch a vshard took a join from, per sending vshard: the fence for
 * joins across vshards. A child's vshard announces every join value again when a new owner
 * starts it (a higher epoch), so a join from an older epoch that arrives later (it left a
 * node frozen mid-publish, and the stream took it after the new owner's) is stale and
 * refused, instead of overwriting what the new owner sent.
 *
 * The table is part of the receiving vshard's state: each commit that follows a change
 * records it in the state log, a snapshot records it whole, and a restore folds it back,
 * so a restarted owner refuses the same joins.
 *
 * @example
 * ```ts
 * const epochs = new JoinEpochs();
 * epochs.admit(7, 12); // true: the first join from vshard 7
 * epochs.admit(7, 9);  // false: vshard 7 has a newer owner
 * ```
 */
export class JoinEpochs {
  private readonly max = new Map<number, number>();
  /** Bumped at every change: the state log records the table only when it changed. */
  version = 0;

  constructor(entries: Iterable<readonly [number, number]> = []) {
    for (const [vshard, epoch] of entries)
      if (isEpoch(vshard) && isEpoch(epoch)) this.max.set(vshard, Math.max(epoch, this.max.get(vshard) ?? 0));
  }

  /** Whether a join from `vshard` under `epoch` may apply; a newer epoch is remembered. No epoch: always (older senders). */
  admit(vshard: number, epoch: number | undefined): boolean {
    if (epoch === undefined) return true;
    if (!isEpoch(epoch)) return false; // never into the fence (and so never into the state log)
    const known = this.max.get(vshard) ?? 0;
    if (epoch < known) return false;
    if (epoch > known) {
      this.max.set(vshard, epoch);
      this.version++;
    }
    return true;
  }

  entries(): [number, number][] {
    return [...this.max];
  }

  /** Folds recorded entries into a table being restored (the highest epoch per vshard wins). */
  static fold(into: Map<number, number>, entries: readonly (readonly [number, number])[] | undefined): void {
    for (const [vshard, epoch] of entries ?? []) into.set(vshard, Math.max(epoch, into.get(vshard) ?? 0));
  }
}

/** What a vshard number or a lease revision can be. */
function isEpoch(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
