import type { SpotStatus } from './spot.js';

/** How many spots are in each state: what a level hands to its garage. */
export interface SpotCounts {
  free: number;
  occupied: number;
  stale: number;
}

export const NO_SPOTS: SpotCounts = { free: 0, occupied: 0, stale: 0 };

/** One spot moved from `old` to `next` (either may be undefined: it appeared or left). */
export function moveSpot(counts: SpotCounts, old: SpotStatus | undefined, next: SpotStatus | undefined): SpotCounts {
  const out = { ...counts };
  if (old) out[old]--;
  if (next) out[next]++;
  return out;
}

/** One level's counts changed from `old` to `next`: the garage adds the difference. */
export function addCounts(counts: SpotCounts, old: SpotCounts | undefined, next: SpotCounts | undefined): SpotCounts {
  const delta = (k: keyof SpotCounts): number => (next?.[k] ?? 0) - (old?.[k] ?? 0);
  return {
    free: counts.free + delta('free'),
    occupied: counts.occupied + delta('occupied'),
    stale: counts.stale + delta('stale'),
  };
}
