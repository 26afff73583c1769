/**
 * A sliding window keeps at most `maxSamples` samples (default 1,000): a source that
 * samples faster than that over the window's size has its oldest samples dropped before
 * they age out, counted in one log line per 10 s. Without the bound a device flooding its
 * twin grew the window's samples (memory, the record rewritten on every commit, and work
 * per sample) with the rate times the window's size.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_SLIDING_SAMPLES,
  defineTwin,
  MemoryStateStore,
  value,
  window,
  type WindowResult,
} from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

const HOUR = 3_600_000;

function meter(maxSamples?: number, timeWeighted = false) {
  return defineTwin({
    name: 'meter',
    route: '/m/:id',
    lanes: {
      v: value(0),
      hour: window({
        source: 'v',
        kind: 'sliding',
        size: HOUR,
        timeWeighted,
        ...(maxSamples !== undefined && { maxSamples }),
      }),
    },
    on: { v: (ctx, e) => ctx.lanes.v.set(e.data as number) },
  });
}

/** One sample a second (the clock moves between steps), values 1, 2, 3, … */
async function feed(
  rt: ReturnType<typeof simulatedRuntime>['rt'],
  clock: ReturnType<typeof simulatedRuntime>['clock'],
  n: number,
) {
  for (let i = 1; i <= n; i++) {
    await rt.ingest({ subject: '/m/1', type: 'v', data: i });
    await rt.settle();
    clock.advance(1_000);
  }
}

describe('a sliding window past its maxSamples', () => {
  it('keeps the newest maxSamples samples and says so once per 10 s, with the count', async () => {
    const lines: { msg: string; dropped?: number; lane?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const { rt, clock } = simulatedRuntime({ models: [meter(50)], logger });
    await feed(rt, clock, 200);
    const w = (await rt.get('/m/1', 'hour')) as WindowResult;
    // The newest 50 of 1…200: 151…200.
    expect(w).toMatchObject({ count: 50, min: 151, max: 200, sum: (151 + 200) * 25 });
    const said = lines.filter((l) => l.msg.startsWith('sliding window past its maxSamples'));
    expect(said.length).toBeGreaterThanOrEqual(1);
    expect(said.length).toBeLessThanOrEqual(2); // a line per 10 s of wall time, not one per sample
    expect(said[0]).toMatchObject({ lane: 'hour', dropped: 1 });
  });

  it('bounds a window by default, and a time-weighted one holds the newest dropped value before the rest', async () => {
    const { rt, clock } = simulatedRuntime({ models: [meter(undefined, true)] });
    await feed(rt, clock, DEFAULT_MAX_SLIDING_SAMPLES + 10);
    const w = (await rt.get('/m/1', 'hour')) as WindowResult & { timeAvg: number; last: number };
    expect(w.count).toBe(DEFAULT_MAX_SLIDING_SAMPLES);
    expect(w.min).toBe(11);
    expect(w.last).toBe(DEFAULT_MAX_SLIDING_SAMPLES + 10);
    // Value 10 (the newest dropped) is taken as held from the window's start until the 11 came.
    expect(w.timeAvg).toBeGreaterThan(10);
    expect(w.timeAvg).toBeLessThan(DEFAULT_MAX_SLIDING_SAMPLES);
  });

  it('restores within the bound: a record with more samples (an older build, a bound lowered since) is trimmed, not reported', async () => {
    const store = new MemoryStateStore();
    const first = simulatedRuntime({ models: [meter(100)], store });
    await feed(first.rt, first.clock, 50);
    await first.rt.close();
    const lines: { msg: string; dropped?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const { rt, clock } = simulatedRuntime({ models: [meter(10)], store, logger, start: first.clock.now() });
    await feed(rt, clock, 1); // value 1 after 1…50: the window holds 42…50 and 1
    expect(await rt.get('/m/1', 'hour')).toMatchObject({ count: 10, min: 1, max: 50 });
    const said = lines.filter((l) => l.msg.startsWith('sliding window past its maxSamples'));
    expect(said.map((l) => l.dropped)).toEqual([1]); // the new sample's drop, not the 40 trimmed at restore
  });

  it('refuses a maxSamples out of range or on a window that keeps no samples', () => {
    expect(() => meter(0)).toThrow(/maxSamples must be an integer from 1 to 100000/);
    expect(() => meter(1.5)).toThrow(/maxSamples/);
    expect(() => window({ source: 'v', kind: 'tumbling', size: HOUR, maxSamples: 10 })).toThrow(/for sliding windows/);
  });
});
