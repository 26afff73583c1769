import { describe, expect, it } from 'vitest';
import { defineTwin, MemoryStateStore, SimulatedClock, value, window, type WindowResult } from '../../src/index.js';
import { advance, simulatedRuntime, T0 } from '../support/runtime.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { tempDir } from '../support/tmp.js';

const MIN = 60_000;

const ticker = defineTwin({
  name: 'ticker',
  route: '/t/:id',
  lanes: { fired: value<number[]>([]) },
  on: {
    arm(ctx, e) {
      ctx.timers.set(String((e.data as { name: string }).name), (e.data as { delay: number }).delay);
    },
    cancel(ctx, e) {
      ctx.timers.cancel(String(e.data));
    },
  },
  onTimer: {
    a(ctx) {
      ctx.lanes.fired.set([...ctx.lanes.fired.get(), ctx.now() - T0]);
    },
    b(ctx) {
      ctx.lanes.fired.set([...ctx.lanes.fired.get(), -(ctx.now() - T0)]);
    },
  },
});

describe('timers', () => {
  it('fire on the simulated clock at their due time, in order, only once', async () => {
    const { rt, clock } = simulatedRuntime({ models: [ticker] });
    await rt.ingest([
      { subject: '/t/1', type: 'arm', data: { name: 'b', delay: 5 * MIN } },
      { subject: '/t/1', type: 'arm', data: { name: 'a', delay: 2 * MIN } },
    ]);
    await advance(rt, clock, MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([]);
    await advance(rt, clock, 10 * MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([2 * MIN, -5 * MIN]);
    await advance(rt, clock, 10 * MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([2 * MIN, -5 * MIN]);
  });

  it('re-arming moves the deadline (later or earlier); cancel stops it', async () => {
    const { rt, clock } = simulatedRuntime({ models: [ticker] });
    await rt.ingest({ subject: '/t/1', type: 'arm', data: { name: 'a', delay: 2 * MIN } });
    await advance(rt, clock, MIN);
    await rt.ingest({ subject: '/t/1', type: 'arm', data: { name: 'a', delay: 5 * MIN } }); // due at 6 min now
    await advance(rt, clock, 3 * MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([]);
    await rt.ingest({ subject: '/t/1', type: 'arm', data: { name: 'a', delay: MIN } }); // earlier: 5 min
    await advance(rt, clock, 10 * MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([5 * MIN]);
    await rt.ingest([
      { subject: '/t/1', type: 'arm', data: { name: 'b', delay: MIN } },
      { subject: '/t/1', type: 'cancel', data: 'b' },
    ]);
    await advance(rt, clock, 10 * MIN);
    expect(await rt.get('/t/1', 'fired')).toEqual([5 * MIN]);
  });

  it('fire at their own time when another timer re-arms itself during a wake (regression)', async () => {
    const { rt, clock } = simulatedRuntime({ models: [ticker] });
    await rt.ingest({ subject: '/t/x', type: 'arm', data: { name: 'a', delay: MIN } });
    await rt.ingest({ subject: '/t/x', type: 'arm', data: { name: 'a', delay: 10 * MIN } }); // moves later: stale entry at 1 min
    await rt.ingest({ subject: '/t/y', type: 'arm', data: { name: 'a', delay: 5 * MIN } });
    await advance(rt, clock, 20 * MIN);
    expect(await rt.get('/t/y', 'fired')).toEqual([5 * MIN]);
    expect(await rt.get('/t/x', 'fired')).toEqual([10 * MIN]);
  });

  it('survive the twin being stopped: a due timer restarts it', async () => {
    const store = new MemoryStateStore();
    const { rt, clock } = simulatedRuntime({ models: [ticker], store });
    await rt.ingest({ subject: '/t/p', type: 'arm', data: { name: 'a', delay: 3 * MIN } });
    await rt.stop('/t/p');
    expect(rt.activePaths()).toEqual([]);
    await advance(rt, clock, 4 * MIN);
    expect(await rt.get('/t/p', 'fired')).toEqual([3 * MIN]);
  });
});

const meter = defineTwin({
  name: 'meter',
  route: '/m/:id',
  lanes: {
    reading: value<{ v: number } | null>(null),
    tumbling: window({
      source: 'reading',
      sample: (r) => (r as { v: number } | null)?.v,
      kind: 'tumbling',
      size: 10 * MIN,
      keep: 3,
    }),
    hopping: window({
      source: 'reading',
      sample: (r) => (r as { v: number } | null)?.v,
      kind: 'hopping',
      size: 10 * MIN,
      hop: 5 * MIN,
    }),
    sliding: window({
      source: 'reading',
      sample: (r) => (r as { v: number } | null)?.v,
      kind: 'sliding',
      size: 10 * MIN,
    }),
    closed: value<WindowResult[]>([]),
  },
  on: { reading: (ctx, e) => ctx.lanes.reading.set(e.data as { v: number }) },
  onWindow: { tumbling: (ctx, w) => ctx.lanes.closed.set([...ctx.lanes.closed.get(), w]) },
});

/** Feeds value v at minute m (absolute from T0). */
async function feed(rt: ReturnType<typeof simulatedRuntime>['rt'], clock: SimulatedClock, m: number, v: number) {
  await rt.settle();
  clock.advanceTo(T0 + m * MIN);
  await rt.ingest({ subject: '/m/1', data: { v } });
}

describe('windows', () => {
  it('tumbling windows aggregate count/sum/avg/min/max and close on the clock', async () => {
    const { rt, clock } = simulatedRuntime({ models: [meter] });
    await feed(rt, clock, 1, 10);
    await feed(rt, clock, 4, 20);
    await feed(rt, clock, 9, 30);
    await feed(rt, clock, 12, 5);
    const w0 = T0;
    expect(((await rt.get('/m/1', 'tumbling')) as Record<string, WindowResult>)[String(w0)]).toEqual({
      start: w0,
      end: w0 + 10 * MIN,
      count: 3,
      sum: 60,
      avg: 20,
      min: 10,
      max: 30,
      closed: true,
    });
    await advance(rt, clock, 10 * MIN);
    const closed = (await rt.get('/m/1', 'closed')) as WindowResult[];
    expect(closed.map((w) => [w.start - T0, w.count, w.avg])).toEqual([
      [0, 3, 20],
      [10 * MIN, 1, 5],
    ]);
  });

  it('keeps only the newest `keep` tumbling windows', async () => {
    const { rt, clock } = simulatedRuntime({ models: [meter] });
    for (let m = 0; m < 60; m += 10) await feed(rt, clock, m, m);
    const keys = Object.keys((await rt.get('/m/1', 'tumbling')) as object).map((k) => (Number(k) - T0) / MIN);
    expect(keys).toEqual([30, 40, 50]);
  });

  it('hopping windows count each sample in every window that covers it', async () => {
    const { rt, clock } = simulatedRuntime({ models: [meter] });
    await feed(rt, clock, 7, 1);
    const hopping = (await rt.get('/m/1', 'hopping')) as Record<string, WindowResult>;
    expect(Object.values(hopping).map((w) => [(w.start - T0) / MIN, w.count])).toEqual(
      [
        [5, 1],
        [0, 1],
      ].sort((a, b) => b[0]! - a[0]!),
    );
  });

  it('a sliding window covers the last `size` ms and decays without new samples', async () => {
    const { rt, clock } = simulatedRuntime({ models: [meter] });
    await feed(rt, clock, 0, 10);
    await feed(rt, clock, 5, 30);
    expect(await rt.get('/m/1', 'sliding')).toMatchObject({ count: 2, avg: 20, min: 10, max: 30 });
    await advance(rt, clock, 6 * MIN); // minute 11: the sample at 0 has left
    expect(await rt.get('/m/1', 'sliding')).toMatchObject({ count: 1, avg: 30, min: 30, max: 30 });
    await advance(rt, clock, 10 * MIN);
    expect(await rt.get('/m/1', 'sliding')).toMatchObject({ count: 0, avg: null });
  });

  it('every window kind comes back whole from LMDB: closed windows (entries) and open ones and samples (record)', async () => {
    const dir = tempDir();
    const first = simulatedRuntime({ models: [meter], store: LmdbStateStore.open({ path: dir }) });
    await feed(first.rt, first.clock, 1, 10);
    await feed(first.rt, first.clock, 12, 20); // closes the first tumbling window
    await feed(first.rt, first.clock, 14, 30);
    await first.rt.settle();
    const before = (await first.rt.read('/m/1')).lanes;
    expect(Object.values(before.tumbling as Record<string, WindowResult>).map((w) => w.closed)).toEqual([true, false]);
    await first.rt.close();
    const second = simulatedRuntime({
      models: [meter],
      store: LmdbStateStore.open({ path: dir }),
      start: first.clock.now(),
    });
    expect((await second.rt.read('/m/1')).lanes).toEqual(before);
    await feed(second.rt, second.clock, 15, 40); // and they go on counting
    expect(
      ((await second.rt.get('/m/1', 'tumbling')) as Record<string, WindowResult>)[String(T0 + 10 * MIN)],
    ).toMatchObject({ count: 3, sum: 90 });
    expect(await second.rt.get('/m/1', 'sliding')).toMatchObject({ count: 3, sum: 90 });
  });

  it('window state survives a restart of the twin', async () => {
    const store = new MemoryStateStore();
    const { rt, clock } = simulatedRuntime({ models: [meter], store });
    await feed(rt, clock, 1, 10);
    await rt.stop('/m/1');
    await feed(rt, clock, 2, 20);
    expect(((await rt.get('/m/1', 'tumbling')) as Record<string, WindowResult>)[String(T0)]).toMatchObject({
      count: 2,
      avg: 15,
    });
  });
});
