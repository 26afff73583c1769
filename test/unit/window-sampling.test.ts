/**
 * Window lanes sample the value their source settled on, once per turn (issue 14), and
 * time-weighted windows weigh each value by how long it held.
 */
import { describe, expect, it } from 'vitest';
import {
  defineTwin,
  MemoryStateStore,
  reject,
  value,
  window,
  type TimeWeightedWindowResult,
  type WindowResult,
} from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { advance, simulatedRuntime, T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function isNumbers(data: unknown): data is number[] {
  return Array.isArray(data) && data.every((v) => typeof v === 'number');
}

/** `set` events write each number of their data to `x` in one turn; `x` is capped at 10 by its onSet hook. */
const meter = defineTwin({
  name: 'meter',
  route: '/m/:id',
  lanes: {
    x: value(0),
    minutes: window({ source: 'x', kind: 'tumbling', size: 10 * MIN }),
    recent: window({ source: 'x', kind: 'sliding', size: 10 * MIN }),
  },
  on: {
    set(ctx, event) {
      if (!isNumbers(event.data)) reject('a list of numbers');
      for (const v of event.data) ctx.lanes.x.set(v);
    },
    setThenReject(ctx, event) {
      if (!isNumbers(event.data)) reject('a list of numbers');
      for (const v of event.data) ctx.lanes.x.set(v);
      reject('changed my mind');
    },
  },
  onSet: {
    x: (ctx, x) => {
      if (x > 10) ctx.lanes.x.set(10);
    },
  },
});

describe('window sampling', () => {
  it('samples once per turn, the settled value: two turns of set(n-1); set(n+2) are two samples, not four', async () => {
    const { rt } = simulatedRuntime({ models: [meter] });
    await rt.ingest({ subject: '/m/1', type: 'set', data: [-1, 2] }); // n = 0
    await rt.ingest({ subject: '/m/1', type: 'set', data: [0, 3] }); // n = 1
    const w = ((await rt.get('/m/1', 'minutes')) as Record<string, WindowResult>)[String(T0)];
    expect(w).toEqual({ start: T0, end: T0 + 10 * MIN, count: 2, sum: 5, avg: 2.5, min: 2, max: 3, closed: false });
    expect(await rt.get('/m/1', 'recent')).toMatchObject({ count: 2, min: 2, max: 3 });
  });

  it('samples after the onSet hooks: a value a hook corrects is sampled as corrected', async () => {
    const { rt } = simulatedRuntime({ models: [meter] });
    await rt.ingest({ subject: '/m/1', type: 'set', data: [15] });
    expect(await rt.get('/m/1', 'recent')).toMatchObject({ count: 1, sum: 10, min: 10, max: 10 });
  });

  it('a rejected turn leaves no sample, and a later turn samples normally', async () => {
    const { rt } = simulatedRuntime({ models: [meter] });
    const report = await rt.ingest({ subject: '/m/1', type: 'setThenReject', data: [7] });
    expect(report.rejected.map((r) => r.error.code)).toEqual(['TWIN_PAYLOAD_REJECTED']);
    expect(await rt.get('/m/1', 'recent')).toBeNull();
    await rt.ingest({ subject: '/m/1', type: 'set', data: [4] });
    expect(await rt.get('/m/1', 'recent')).toMatchObject({ count: 1, sum: 4 });
  });

  it('a write that leaves the value unchanged is still a sample (a repeated reading)', async () => {
    const { rt } = simulatedRuntime({ models: [meter] });
    await rt.ingest({ subject: '/m/1', type: 'set', data: [0] });
    await rt.ingest({ subject: '/m/1', type: 'set', data: [0] });
    expect(await rt.get('/m/1', 'recent')).toMatchObject({ count: 2, sum: 0 });
  });
});

/** A room's occupancy as a state signal: hourly and sliding time-weighted windows. */
const room = defineTwin({
  name: 'room',
  route: '/r/:id',
  lanes: {
    occupied: value(false),
    hourly: window({
      source: 'occupied',
      sample: (o: boolean) => (o ? 1 : 0),
      kind: 'tumbling',
      size: HOUR,
      timeWeighted: true,
    }),
    lastHour: window({
      source: 'occupied',
      sample: (o: boolean) => (o ? 1 : 0),
      kind: 'sliding',
      size: HOUR,
      timeWeighted: true,
    }),
    reported: value<TimeWeightedWindowResult[]>([]),
  },
  on: { occupancy: (ctx, event) => ctx.lanes.occupied.set(event.data === true) },
  onWindow: { hourly: (ctx, w) => ctx.lanes.reported.set([...ctx.lanes.reported.get(), w]) },
});

async function occupancy(
  rt: ReturnType<typeof simulatedRuntime>['rt'],
  clock: ReturnType<typeof simulatedRuntime>['clock'],
  at: number,
  occupied: boolean,
): Promise<void> {
  await advance(rt, clock, T0 + at - clock.now());
  await rt.ingest({ subject: '/r/1', type: 'occupancy', data: occupied });
}

describe('time-weighted windows', () => {
  it('weigh each value by how long it held, and report hours without a sample with the value that held', async () => {
    const { rt, clock } = simulatedRuntime({ models: [room] });
    await occupancy(rt, clock, 0, true);
    await occupancy(rt, clock, 45 * MIN, false);
    await occupancy(rt, clock, 90 * MIN, true);
    await advance(rt, clock, T0 + 4 * HOUR - clock.now());
    const reported = (await rt.get('/r/1', 'reported')) as TimeWeightedWindowResult[];
    expect(reported.map((w) => [(w.start - T0) / HOUR, w.timeAvg, w.count, w.avg, w.covered / MIN])).toEqual([
      [0, 0.75, 2, 0.5, 60], // occupied 45 of 60 minutes; two samples, 1 and 0
      [1, 0.5, 1, 1, 60], // free until 1:30, then occupied
      [2, 1, 0, null, 60], // no sample at all: occupied throughout
      [3, 1, 0, null, 60],
    ]);
    expect(reported[0]).toMatchObject({ integral: 45 * MIN, last: 0, until: T0 + HOUR, closed: true });
    // The open hour (4:00-5:00) has begun, with the value that holds.
    const open = ((await rt.get('/r/1', 'hourly')) as Record<string, TimeWeightedWindowResult>)[String(T0 + 4 * HOUR)];
    expect(open).toMatchObject({ closed: false, last: 1, count: 0, until: T0 + 4 * HOUR });
  });

  it('a sliding time-weighted window counts the value held from before its start', async () => {
    const { rt, clock } = simulatedRuntime({ models: [room] });
    await occupancy(rt, clock, 0, true);
    await occupancy(rt, clock, 15 * MIN, false);
    expect(await rt.get('/r/1', 'lastHour')).toMatchObject({
      timeAvg: 1,
      covered: 15 * MIN,
      until: T0 + 15 * MIN,
      count: 2,
    });
    await advance(rt, clock, HOUR - 15 * MIN); // 1:00: the 0:00 sample leaves, its value still held until 0:15
    expect(await rt.get('/r/1', 'lastHour')).toMatchObject({
      timeAvg: 0.25,
      covered: HOUR,
      count: 1,
      until: T0 + HOUR,
    });
    await advance(rt, clock, 15 * MIN); // 1:15: no sample left inside, free for the whole hour
    expect(await rt.get('/r/1', 'lastHour')).toMatchObject({ timeAvg: 0, covered: HOUR, count: 0, last: 0 });
  });

  it('keep their held value across a passivation and an LMDB restart', async () => {
    const store = new MemoryStateStore();
    const first = simulatedRuntime({ models: [room], store });
    await occupancy(first.rt, first.clock, 30 * MIN, true);
    await first.rt.stop('/r/1'); // the hour's timer brings it back
    await advance(first.rt, first.clock, 2 * HOUR);
    const reported = (await first.rt.get('/r/1', 'reported')) as TimeWeightedWindowResult[];
    expect(reported.map((w) => [w.timeAvg, w.covered / MIN])).toEqual([
      [1, 30],
      [1, 60],
    ]);

    const dir = tempDir();
    const a = simulatedRuntime({ models: [room], store: LmdbStateStore.open({ path: dir }) });
    await occupancy(a.rt, a.clock, 0, true);
    await occupancy(a.rt, a.clock, 50 * MIN, false);
    await advance(a.rt, a.clock, 20 * MIN); // 1:10: the hour closed; the 0:00 sample left the sliding window, its 1 held until 0:50
    const before = (await a.rt.read('/r/1')).lanes;
    await a.rt.close();
    const b = simulatedRuntime({ models: [room], store: LmdbStateStore.open({ path: dir }), start: a.clock.now() });
    expect((await b.rt.read('/r/1')).lanes).toEqual(before);
    await occupancy(b.rt, b.clock, 80 * MIN, true);
    // [0:20, 1:20]: 1 (held from before the window, restored from the record) for 30 min, 0 for 30 min.
    expect(await b.rt.get('/r/1', 'lastHour')).toMatchObject({ timeAvg: 0.5, covered: HOUR, count: 2 });
    await advance(b.rt, b.clock, T0 + 2 * HOUR - b.clock.now());
    expect(((await b.rt.get('/r/1', 'reported')) as TimeWeightedWindowResult[]).map((w) => w.timeAvg)).toEqual([
      50 / 60,
      40 / 60,
    ]);
  });

  it('stops waking a twin whose source went quiet after `keep` windows, and reports the gap once a sample comes', async () => {
    const room = defineTwin({
      name: 'room',
      route: '/r/:id',
      lanes: {
        occupied: value(false),
        hourly: window({
          source: 'occupied',
          sample: (o: boolean) => (o ? 1 : 0),
          kind: 'tumbling',
          size: HOUR,
          keep: 3,
          timeWeighted: true,
        }),
        reported: value<number[]>([]),
      },
      on: { occupancy: (ctx, event) => ctx.lanes.occupied.set(event.data === true) },
      onWindow: { hourly: (ctx, w) => ctx.lanes.reported.set([...ctx.lanes.reported.get(), (w.start - T0) / HOUR]) },
    });
    const { rt, clock } = simulatedRuntime({ models: [room] });
    await rt.ingest({ subject: '/r/1', type: 'occupancy', data: true });
    await advance(rt, clock, 10 * HOUR);
    // Hours 0-3 close on their timer (the kept windows still hold hour 0's real sample until
    // then); after that no timer is armed: a device that stopped reporting wakes nothing.
    expect(await rt.get('/r/1', 'reported')).toEqual([0, 1, 2, 3]);
    const turns = rt.stats().turns;
    await advance(rt, clock, 10 * HOUR);
    expect(rt.stats().turns).toBe(turns);
    await rt.ingest({ subject: '/r/1', type: 'occupancy', data: false });
    await advance(rt, clock, HOUR);
    // The sample opened the kept windows of the gap with the held value; they close and report now.
    expect(await rt.get('/r/1', 'reported')).toEqual([0, 1, 2, 3, 18, 19, 20]);
  });

  it('after a downtime longer than the kept windows, opens only the windows it can keep, each with the held value', async () => {
    const short = defineTwin({
      name: 'room',
      route: '/r/:id',
      lanes: {
        occupied: value(false),
        hourly: window({
          source: 'occupied',
          sample: (o: boolean) => (o ? 1 : 0),
          kind: 'tumbling',
          size: HOUR,
          keep: 3,
          timeWeighted: true,
        }),
        reported: value<number[]>([]),
      },
      on: { occupancy: (ctx, event) => ctx.lanes.occupied.set(event.data === true) },
      onWindow: { hourly: (ctx, w) => ctx.lanes.reported.set([...ctx.lanes.reported.get(), (w.start - T0) / HOUR]) },
    });
    const dir = tempDir();
    const a = simulatedRuntime({ models: [short], store: LmdbStateStore.open({ path: dir }) });
    await a.rt.ingest({ subject: '/r/1', type: 'occupancy', data: true });
    await a.rt.close();
    // Down for ten hours: the hour timer comes due once, at the restart.
    const b = simulatedRuntime({
      models: [short],
      store: LmdbStateStore.open({ path: dir }),
      start: T0 + 10 * HOUR + MIN,
    });
    await Promise.resolve(); // the shard looks for due timers in a microtask after it starts
    await advance(b.rt, b.clock, MIN);
    const hourly = (await b.rt.get('/r/1', 'hourly')) as Record<string, TimeWeightedWindowResult>;
    expect(
      Object.values(hourly)
        .map((w) => [(w.start - T0) / HOUR, w.closed, w.timeAvg])
        .sort((x, y) => (x[0] as number) - (y[0] as number)),
    ).toEqual([
      [8, true, 1],
      [9, true, 1],
      [10, false, 1],
    ]);
    expect(await b.rt.get('/r/1', 'reported')).toEqual([0, 6, 7, 8, 9]);
  });
});
