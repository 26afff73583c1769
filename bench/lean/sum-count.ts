/**
 * The building model's temperature arithmetic without objects: a (sum, count) pair updated
 * by removing one contribution and adding another, each step Neumaier-compensated and the
 * compensation folded back into the sum, exactly as `SumCount.replace`/`merge` followed by
 * `toJSON()` does in models/ (so the lean loop's means are bit-identical to the runtime's).
 * Results are left in {@link SUM} and {@link COUNT} (module fields: no allocation).
 */
export let SUM = 0;
export let COUNT = 0;
let comp = 0;

function add(value: number, count: number): void {
  const t = SUM + value;
  comp += Math.abs(SUM) >= Math.abs(value) ? SUM - t + value : value - t + SUM;
  SUM = t;
  COUNT += count;
  if (COUNT === 0) {
    SUM = 0;
    comp = 0;
  }
}

/**
 * From (sum, count): takes out (oldSum, oldCount) when `hadOld`, puts in (nextSum,
 * nextCount) when `hasNext`; SUM/COUNT then hold the stored form (`toJSON`).
 */
export function mergeStats(
  sum: number,
  count: number,
  hadOld: boolean,
  oldSum: number,
  oldCount: number,
  hasNext: boolean,
  nextSum: number,
  nextCount: number,
): void {
  SUM = sum;
  COUNT = count;
  comp = 0;
  if (hadOld) add(-oldSum, -oldCount);
  if (hasNext) add(nextSum, nextCount);
  SUM = COUNT === 0 ? 0 : SUM + comp;
}

/** The mean of a stored (sum, count), NaN standing for null. */
export function meanOf(sum: number, count: number): number {
  return count > 0 ? sum / count : NaN;
}
