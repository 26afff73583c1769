/**
 * Window lanes against a naive reference (issue 14): random turns, each writing its
 * source one or more times at a time on a simulated clock; the windows must hold what a
 * direct computation over the settled value of each turn gives, sampled and time-weighted.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineTwin,
  reject,
  SimulatedClock,
  value,
  window,
  type TimeWeightedWindowResult,
  type WindowResult,
} from '../../src/index.js';
import { T0 } from '../support/runtime.js';
import { checkWeighted, expectClose, integrate, sampled, type Sample } from '../support/window-reference.js';

const MIN = 60_000;
const SIZE = 10 * MIN;
const HOP = 5 * MIN;

function isNumbers(data: unknown): data is number[] {
  return Array.isArray(data) && data.every((v) => typeof v === 'number');
}

const probe = defineTwin({
  name: 'probe',
  route: '/p/:id',
  lanes: {
    x: value(0),
    tumbling: window({ source: 'x', kind: 'tumbling', size: SIZE, keep: 1000 }),
    hopping: window({ source: 'x', kind: 'hopping', size: SIZE, hop: HOP, keep: 1000 }),
    twTumbling: window({ source: 'x', kind: 'tumbling', size: SIZE, keep: 1000, timeWeighted: true }),
    twHopping: window({ source: 'x', kind: 'hopping', size: SIZE, hop: HOP, keep: 1000, timeWeighted: true }),
    twSliding: window({ source: 'x', kind: 'sliding', size: SIZE, timeWeighted: true }),
  },
  on: {
    set(ctx, event) {
      if (!isNumbers(event.data)) reject('a list of numbers');
      for (const v of event.data) ctx.lanes.x.set(v);
    },
  },
});

/** One turn: `gap` minutes after the previous one, writing `writes` in order (the last one settles). */
interface Turn {
  gap: number;
  writes: number[];
}

const turns = fc.array(
  fc.record({
    gap: fc.integer({ min: 0, max: 27 }),
    writes: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 12 },
);

describe('window lanes against a naive reference', () => {
  it('sampled and time-weighted tumbling, hopping and sliding windows, one settled sample per turn', async () => {
    await fc.assert(
      fc.asyncProperty(turns, async (input: Turn[]) => {
        const clock = new SimulatedClock(T0);
        const rt = createRuntime({ models: [probe], clock, logger: pino({ level: 'silent' }) });
        try {
          const samples: Sample[] = [];
          for (const turn of input) {
            clock.advance(turn.gap * MIN); // timers due meanwhile fire first, at their due times
            await rt.settle();
            await rt.ingest({ subject: '/p/1', type: 'set', data: turn.writes });
            samples.push([clock.now(), turn.writes.at(-1)!]);
          }
          clock.advance(13 * MIN);
          await rt.settle();
          const end = clock.now();
          const lanes = (await rt.read('/p/1')).lanes;

          // Sampled windows exist where samples fell; each closed one holds exactly its samples.
          for (const [name, hop] of [
            ['tumbling', SIZE],
            ['hopping', HOP],
          ] as const) {
            const windows = lanes[name] as Record<string, WindowResult>;
            const starts = new Set<number>();
            for (const [t] of samples) for (let s = Math.floor(t / hop) * hop; s > t - SIZE; s -= hop) starts.add(s);
            expect(
              Object.keys(windows)
                .map(Number)
                .sort((a, b) => a - b),
              name,
            ).toEqual([...starts].sort((a, b) => a - b));
            for (const w of Object.values(windows)) {
              const ref = sampled(samples, w.start, w.end);
              expect({ count: w.count, sum: w.sum, min: w.min, max: w.max }, `${name} ${w.start - T0}`).toEqual(ref);
              expect(w.closed).toBe(w.end <= end);
            }
          }

          checkWeighted(lanes.twTumbling as Record<string, TimeWeightedWindowResult>, samples, SIZE, SIZE, end);
          checkWeighted(lanes.twHopping as Record<string, TimeWeightedWindowResult>, samples, SIZE, HOP, end);

          // The sliding window as of its last update: the newest sample or the latest eviction.
          const sliding = lanes.twSliding as TimeWeightedWindowResult;
          const updates = samples.flatMap(([t]) => [t, t + SIZE]).filter((t) => t <= end);
          const until = Math.max(...updates);
          expect(sliding.until).toBe(until);
          const inside = samples.filter(([t]) => t > until - SIZE && t <= until);
          const held = samples.filter(([t]) => t <= until - SIZE).at(-1);
          const ref = integrate(held ? [[until - SIZE, held[1]], ...inside] : inside, until - SIZE, until);
          expect(sliding.covered).toBe(ref.covered);
          expectClose(sliding.integral, ref.integral, 'sliding integral');
          expectClose(sliding.timeAvg, ref.covered > 0 ? ref.integral / ref.covered : null, 'sliding timeAvg');
          expect({ count: sliding.count, sum: sliding.sum }).toEqual({
            count: inside.length,
            sum: inside.reduce((a, [, v]) => a + v, 0),
          });
        } finally {
          await rt.close();
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
