import type { ChangeExplainer } from '../../src/model/index.js';

/**
 * Why a `garage.full` / `garage.available` is in one what-if run only: the two runs
 * reserve a different number of spots, so the same free count is "full" in one of them.
 */
export function explainReserve(baseline: { reserved: number }, whatIf: { reserved: number }): ChangeExplainer {
  return ({ side, event }) => {
    if (event.type !== 'garage.full' && event.type !== 'garage.available') return undefined;
    const { free } = event.data as { free: number };
    const [mine, other] = side === 'baseline' ? [baseline, whatIf] : [whatIf, baseline];
    const state = (reserved: number): string => (free <= reserved ? 'full' : 'available');
    if (state(mine.reserved) === state(other.reserved)) {
      return `${free} free is ${state(mine.reserved)} in both runs: the other run already was (it changed at another time)`;
    }
    return `${free} free: ${state(mine.reserved)} with ${mine.reserved} reserved, ${state(other.reserved)} with ${other.reserved}`;
  };
}
