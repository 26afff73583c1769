/**
 * When a twin was last active, as passivation compares it: whole seconds on the runtime's
 * clock, counted from 2020-01-01 and kept in an int32, so the field stays a small integer
 * (stored unboxed, set on every item without allocating). That covers 1952 to 2088 exactly;
 * times outside clamp to its ends. Seconds since 1970 in an int32 wrapped at 2038-01-19,
 * and a simulated clock that crossed that instant left every twin active before it live.
 */
const EPOCH_SECOND = 1_577_836_800;
const LATEST = 0x7fffffff;

/** The activity second of a clock time (ms). */
export function activitySecond(ms: number): number {
  const s = Math.floor(ms / 1000) - EPOCH_SECOND;
  return s >= LATEST ? LATEST : s <= -LATEST ? -LATEST : s | 0;
}

/** What a twin that has had no item yet holds: older than any activity second. */
export const NEVER_ACTIVE = -LATEST - 1;
