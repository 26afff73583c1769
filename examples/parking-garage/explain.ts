import type { ChangeExplainer } from '../../src/index.js';

/**
 * Why a `garage.full` / `garage.available` is in one what-if run only: the two runs
 * reserve a different number of spots, so the same free count is "full" in one of them.
 */
export function explainReserve(baseline: { reserved: number }, whatIf: { reserved: number }): ChangeExplainer {
  return ({ side, event }) => {
    if (event.type !== 'garage.full' && event.type !== 'garage.available') return undefined;
    const { free } = event.data as { free: number };
    const [mine, other] = side === 'baseline' ? [baseline, whatIf] : [whatIf, baseline];
    return `${free} free: ${free <= mine.reserved ? 'full' : 'available'} with ${mine.reserved} reserved, ${free <= other.reserved ? 'full' : 'available'} with ${other.reserved}`;
  };
}
