/**
 * The arithmetic of window lanes, kept apart from their bookkeeping (rollback, storage,
 * timers): pure functions from a window's result and a sample to the next result.
 *
 * Two families of aggregates:
 * - sampled (`count`, `sum`, `avg`, `min`, `max`): every sample counts once, however long
 *   its value then held. Right for event-like signals (a reading per minute).
 * - time-weighted (`timeAvg`, `integral`, `covered`, `last`, `until`), on lanes declared
 *   `timeWeighted: true`: the source is read as a step function (each sample holds until
 *   the next) and every value is weighted by how long it held within the window. Right for
 *   state-like signals: a room occupied (1) from 9:00 to 9:45 and free (0) until 10:00
 *   has a `timeAvg` of 0.75 for that hour, whatever the number of samples.
 */

/** Aggregates of one window. `avg`, `min`, `max` are null while `count` is 0. */
export interface WindowResult {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly sum: number;
  readonly avg: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** True once the clock passed `end` (tumbling and hopping windows). */
  readonly closed: boolean;
}

/**
 * The result of a window lane declared `timeWeighted: true`: the sampled aggregates plus
 * the time-weighted ones. They cover the window from its start (or from the first sample
 * ever, when that came later) up to `until`: the window's end once it closed; while it is
 * open, the time of its last update (a sample, or the close of an earlier window).
 *
 * @example
 * ```ts
 * // occupied (1) 9:00-9:45, free (0) 9:45-10:00, the hour window once closed:
 * const hour: TimeWeightedWindowResult = { start: 0, end: 3_600_000, count: 2, sum: 1, avg: 0.5, min: 0, max: 1, closed: true,
 *   timeAvg: 0.75, integral: 2_700_000, covered: 3_600_000, last: 0, until: 3_600_000 };
 * ```
 */
export interface TimeWeightedWindowResult extends WindowResult {
  /** `integral / covered`: the mean weighted by how long each value held; null while `covered` is 0. */
  readonly timeAvg: number | null;
  /** The sum of value × ms it held within the window, up to `until`. */
  readonly integral: number;
  /** Ms of the window, up to `until`, during which the source had a value. */
  readonly covered: number;
  /** The value held at `until`: the latest sample up to then (one at the window's `end` belongs to the next window); null before the first. */
  readonly last: number | null;
  /** The time up to which `integral` and `covered` are accounted. */
  readonly until: number;
}

/** An empty window of the sampled kind. */
export function emptyWindow(start: number, end: number): WindowResult {
  return { start, end, count: 0, sum: 0, avg: null, min: null, max: null, closed: false };
}

/**
 * An empty time-weighted window. `last` is the value already held when it opens (null
 * when none is known yet) and `from` where its accounting begins.
 */
export function emptyWeightedWindow(
  start: number,
  end: number,
  last: number | null,
  from: number,
): TimeWeightedWindowResult {
  return {
    start,
    end,
    count: 0,
    sum: 0,
    avg: null,
    min: null,
    max: null,
    closed: false,
    timeAvg: null,
    integral: 0,
    covered: 0,
    last,
    until: from,
  };
}

/** One more sample in a sampled window. */
export function addSample(w: WindowResult, v: number): WindowResult {
  const count = w.count + 1;
  const sum = w.sum + v;
  return {
    start: w.start,
    end: w.end,
    count,
    sum,
    avg: sum / count,
    min: w.min === null || v < w.min ? v : w.min,
    max: w.max === null || v > w.max ? v : w.max,
    closed: false,
  };
}

/**
 * One more sample in a time-weighted window whose accounting already reached the
 * sample's time (see {@link extendWindow}): the sampled aggregates, and `v` held from now on.
 */
export function addWeightedSample(w: TimeWeightedWindowResult, v: number): TimeWeightedWindowResult {
  const s = addSample(w, v);
  return { ...s, timeAvg: w.timeAvg, integral: w.integral, covered: w.covered, last: v, until: w.until };
}

/**
 * Accounts the held value `last` from where the window's accounting stands up to `to`
 * (at most its end). Returns the same object when nothing moved.
 */
export function extendWindow(w: TimeWeightedWindowResult, to: number): TimeWeightedWindowResult {
  const last = w.last ?? null; // `?? null`: windows stored before the lane was time-weighted
  const from = Math.max(w.until ?? w.start, w.start);
  const upTo = Math.min(w.end, to);
  if (upTo <= from) return w;
  if (last === null) return { ...w, until: upTo };
  const covered = (w.covered ?? 0) + (upTo - from);
  const integral = (w.integral ?? 0) + last * (upTo - from);
  return { ...w, timeAvg: integral / covered, integral, covered, last, until: upTo };
}

/** Gives a window stored before its lane was time-weighted the time-weighted fields. */
export function asWeighted(w: WindowResult): TimeWeightedWindowResult {
  if ('until' in w) return w as TimeWeightedWindowResult;
  return { ...w, timeAvg: null, integral: 0, covered: 0, last: null, until: w.closed ? w.end : w.start };
}

/**
 * The sliding window `[now - size, now]` over `samples` (time order, all inside it).
 * Time-weighted, `before` is the value held when the window starts (the newest sample
 * that left it), or null.
 */
export function slidingResult(
  samples: readonly (readonly [number, number])[],
  now: number,
  size: number,
  weighted: boolean,
  before: number | null,
): WindowResult {
  let w = emptyWindow(now - size, now);
  for (const [, v] of samples) w = addSample(w, v);
  if (!weighted) return w;
  let integral = 0;
  let covered = 0;
  let held = before;
  let at = now - size;
  for (const [t, v] of samples) {
    if (held !== null && t > at) {
      integral += held * (t - at);
      covered += t - at;
    }
    held = v;
    at = Math.max(at, t);
  }
  if (held !== null && now > at) {
    integral += held * (now - at);
    covered += now - at;
  }
  const result: TimeWeightedWindowResult = {
    ...w,
    timeAvg: covered > 0 ? integral / covered : null,
    integral,
    covered,
    last: held,
    until: now,
  };
  return result;
}
