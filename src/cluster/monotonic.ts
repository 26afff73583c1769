/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC through hrtime): never
 * jumps with NTP or the wall clock, and is the same clock in every process of a machine,
 * so ownership intervals logged by different nodes there can be compared. Lease deadlines
 * are kept on it: a wall clock set back would stretch a lease past its expiry.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
