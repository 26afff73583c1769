/**
 * A direct computation of what window lanes should hold, from the samples a test fed them:
 * the reference the window property tests compare the lanes with.
 */
import { expect } from 'vitest';
import type { TimeWeightedWindowResult, WindowResult } from '../../src/index.js';
import { T0 } from './runtime.js';

/** A settled sample: the clock's time of its turn and the value the source ended the turn with. */
export type Sample = readonly [time: number, value: number];

/** ∫ of the step function the samples make (each value holds until the next sample), over [from, to]. */
export function integrate(
  samples: readonly Sample[],
  from: number,
  to: number,
): { integral: number; covered: number; last: number | null } {
  let integral = 0;
  let covered = 0;
  let last: number | null = null;
  for (let i = 0; i < samples.length; i++) {
    const [t, v] = samples[i]!;
    if (t > to) break;
    const next = i + 1 < samples.length ? Math.min(samples[i + 1]![0], to) : to;
    const a = Math.max(t, from);
    if (next > a) {
      integral += v * (next - a);
      covered += next - a;
    }
    last = v;
  }
  return { integral, covered, last };
}

/** Sampled aggregates of the samples in [start, end). */
export function sampled(
  samples: readonly Sample[],
  start: number,
  end: number,
): Pick<WindowResult, 'count' | 'sum' | 'min' | 'max'> {
  const in_ = samples.filter(([t]) => t >= start && t < end).map(([, v]) => v);
  return {
    count: in_.length,
    sum: in_.reduce((a, b) => a + b, 0),
    min: in_.length ? Math.min(...in_) : null,
    max: in_.length ? Math.max(...in_) : null,
  };
}

export function expectClose(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) expect(actual, what).toBeNull();
  else expect(actual, what).toBeCloseTo(expected, 9);
}

/** The time-weighted windows of one lane (starts every `hop`, `size` long) from the first sample up to `end`. */
export function checkWeighted(
  lane: Record<string, TimeWeightedWindowResult>,
  samples: readonly Sample[],
  size: number,
  hop: number,
  end: number,
): void {
  const first = samples[0]![0];
  const starts: number[] = [];
  for (let s = Math.floor((first - size) / hop) * hop + hop; s <= end; s += hop) if (s + size > first) starts.push(s);
  expect(
    Object.keys(lane)
      .map(Number)
      .sort((a, b) => a - b),
    'windows without gaps',
  ).toEqual(starts);
  for (const s of starts) {
    const w = lane[String(s)]!;
    const closed = s + size <= end;
    expect(w.closed, `closed ${s - T0}`).toBe(closed);
    if (closed) expect(w.until).toBe(s + size);
    const ref = integrate(samples, Math.max(s, first), w.until);
    expect(w.covered, `covered ${s - T0}`).toBe(ref.covered);
    expectClose(w.integral, ref.integral, `integral ${s - T0}`);
    expectClose(w.timeAvg, ref.covered > 0 ? ref.integral / ref.covered : null, `timeAvg ${s - T0}`);
    // The value held at `until`; a sample at the window's end belongs to the next window.
    expect(w.last, `last ${s - T0}`).toBe(samples.filter(([t]) => t <= w.until && t < w.end).at(-1)?.[1] ?? null);
    expect({ count: w.count, sum: w.sum, min: w.min, max: w.max }).toEqual(sampled(samples, s, s + size));
  }
}
