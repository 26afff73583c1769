/**
 * Window lanes keep the keys of their open windows beside the map, so a sample and a write
 * cost the open windows rather than every kept one. This property test drives what can
 * put that bookkeeping out of step with the map: turns rolled back after writing the
 * source, windows trimmed beyond a small `keep`, and twins stopped and restored from the
 * store between turns. The lanes must still hold what a direct computation over the
 * accepted samples gives, and `onWindow` must report each window exactly once, when it
 * closes (its timer is armed at the deadline the open windows give).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defineTwin,
  MemoryStateStore,
  reject,
  value,
  window,
  type DerivedEvent,
  type TimeWeightedWindowResult,
  type WindowResult,
} from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';
import { checkWeighted, sampled, type Sample } from '../support/window-reference.js';

const MIN = 60_000;
const SIZE = 10 * MIN;
const HOP = 5 * MIN;
const KEEP_TUMBLING = 3;
const KEEP_HOPPING = 4;

/** A value the `guard` window refuses, failing the turn after the other windows sampled it. */
const POISON = 99;

function checked(v: number): number {
  if (v === POISON) reject('rolled back after the windows took the sample');
  return v;
}

interface Turn {
  gap: number;
  writes: number[];
  /** The turn writes its values and fails once its windows sampled them: nothing of it may remain. */
  rejected: boolean;
  /** The twin is stopped after the turn (its state written, then restored by the next item). */
  stop: boolean;
}

const turns = fc.array(
  fc.record({
    gap: fc.integer({ min: 0, max: 27 }),
    writes: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 3 }),
    rejected: fc.boolean(),
    stop: fc.boolean(),
  }),
  { minLength: 1, maxLength: 16 },
);

const kept = defineTwin({
  name: 'kept',
  route: '/k/:id',
  lanes: {
    x: value(0),
    tumbling: window({ source: 'x', kind: 'tumbling', size: SIZE, keep: KEEP_TUMBLING }),
    hopping: window({ source: 'x', kind: 'hopping', size: SIZE, hop: HOP, keep: KEEP_HOPPING }),
    weighted: window({ source: 'x', kind: 'tumbling', size: SIZE, keep: 1000, timeWeighted: true }),
    // Sampled after the windows above: a turn that settles on POISON fails here, once they
    // took the sample, so their changes are what the rollback undoes.
    guard: window({ source: 'x', kind: 'tumbling', size: SIZE, keep: 1, sample: (v) => checked(v as number) }),
  },
  on: {
    set(ctx, event) {
      const { writes, rejected } = event.data as { writes: number[]; rejected: boolean };
      for (const v of writes) ctx.lanes.x.set(v);
      if (rejected) ctx.lanes.x.set(POISON);
    },
  },
  onWindow: {
    tumbling: (ctx, w) => ctx.emit('closed', { lane: 'tumbling', start: w.start, at: ctx.now() }),
    hopping: (ctx, w) => ctx.emit('closed', { lane: 'hopping', start: w.start, at: ctx.now() }),
  },
});

/** Window starts of width `SIZE` every `hop` that the samples fell in. */
function startsOf(samples: readonly Sample[], hop: number): number[] {
  const starts = new Set<number>();
  for (const [t] of samples) for (let s = Math.floor(t / hop) * hop; s > t - SIZE; s -= hop) starts.add(s);
  return [...starts].sort((a, b) => a - b);
}

function checkKept(
  lane: Record<string, WindowResult>,
  samples: readonly Sample[],
  hop: number,
  keep: number,
  end: number,
): void {
  const expected = startsOf(samples, hop).slice(-keep);
  const starts = Object.keys(lane)
    .map(Number)
    .sort((a, b) => a - b);
  expect(starts, `kept windows (every ${hop / MIN} min)`).toEqual(expected);
  for (const w of Object.values(lane)) {
    expect({ count: w.count, sum: w.sum, min: w.min, max: w.max }).toEqual(sampled(samples, w.start, w.end));
    expect(w.closed, `closed ${w.start}`).toBe(w.end <= end);
  }
}

describe('window lanes: open-window bookkeeping', () => {
  it('survives rollbacks, trimming and restores: same windows as the reference, each reported once when it closes', async () => {
    await fc.assert(
      fc.asyncProperty(turns, async (input: Turn[]) => {
        const { rt, clock } = simulatedRuntime({ models: [kept], store: new MemoryStateStore() });
        const closedEvents: { lane: string; start: number; at: number }[] = [];
        rt.onOutput((e: DerivedEvent) => {
          if (e.type === 'closed') closedEvents.push(e.data as { lane: string; start: number; at: number });
        });
        try {
          const samples: Sample[] = [];
          for (const turn of input) {
            clock.advance(turn.gap * MIN); // windows due meanwhile close on their timers, at their ends
            await rt.settle();
            const report = await rt.ingest({
              subject: '/k/1',
              type: 'set',
              data: { writes: turn.writes, rejected: turn.rejected },
            });
            expect(report.rejected.length, 'only the turns meant to fail').toBe(turn.rejected ? 1 : 0);
            if (!turn.rejected) samples.push([clock.now(), turn.writes.at(-1)!]);
            if (turn.stop) await rt.stop('/k/1');
          }
          clock.advance(13 * MIN);
          await rt.settle();
          const end = clock.now();
          const lanes = (await rt.read('/k/1')).lanes;
          if (samples.length === 0) {
            expect(lanes.tumbling).toEqual({});
            expect(closedEvents).toEqual([]);
            return;
          }
          checkKept(lanes.tumbling as Record<string, WindowResult>, samples, SIZE, KEEP_TUMBLING, end);
          checkKept(lanes.hopping as Record<string, WindowResult>, samples, HOP, KEEP_HOPPING, end);
          checkWeighted(lanes.weighted as Record<string, TimeWeightedWindowResult>, samples, SIZE, SIZE, end);

          // Every window that ever opened and has ended was reported once, at its end (the
          // timer fires at the deadline even for a twin that was stopped meanwhile).
          for (const [lane, hop] of [
            ['tumbling', SIZE],
            ['hopping', HOP],
          ] as const) {
            const ended = startsOf(samples, hop).filter((s) => s + SIZE <= end);
            const reported = closedEvents.filter((e) => e.lane === lane);
            expect(
              reported.map((e) => e.start).sort((a, b) => a - b),
              `${lane} reported once each`,
            ).toEqual(ended);
            for (const e of reported) expect(e.at, `${lane} ${e.start} reported at its end`).toBe(e.start + SIZE);
          }
        } finally {
          await rt.close();
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
