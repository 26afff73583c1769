import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import {
  createRuntime,
  defineTwin,
  MemoryStateStore,
  SimulatedClock,
  value,
  map,
  type DerivedEvent,
  type Runtime,
} from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });
const ROOM = '/org/o/site/s/building/1/floor/1/unit/a/room/1';
const MIN = 60_000;

function runtimeOn(dir: string, options: Partial<Parameters<typeof createRuntime>[0]> = {}): Runtime {
  return createRuntime({
    models: buildingModels(),
    logger: silent,
    store: LmdbStateStore.open({ path: dir }),
    ...options,
  });
}

describe('LMDB state store', () => {
  it('events ingested without an id after a restart are not taken for redeliveries (regression)', async () => {
    const dir = tempDir();
    const sensor = `${ROOM}/sensors/occupancy`;
    const first = runtimeOn(dir, { clock: new SimulatedClock(T0) });
    expect((await first.ingest({ subject: sensor, data: { occupied: true } })).accepted).toBe(1);
    await first.close();
    const second = runtimeOn(dir, { clock: new SimulatedClock(T0 + MIN) });
    await second.ingest({ subject: sensor, data: { occupied: false } }); // its generated id must differ from the first process's
    expect(await second.get(sensor, 'latest')).toEqual({ occupied: false });
    expect(second.stats().duplicates).toBe(0);
    await second.close();
  });

  it('a twin stopped and started again at once restores its latest state with relaxed durability (regression)', async () => {
    // Relaxed acknowledges before LMDB commits; a restart must still wait until the stopped
    // twin's final write is readable, or it restores older state and later writes lose updates.
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      store: LmdbStateStore.open({ path: tempDir(), durability: 'relaxed' }),
    });
    const sensor = `${ROOM}/sensors/occupancy`;
    for (let i = 0; i < 30; i++) {
      await rt.ingest({ subject: sensor, id: `e${i}`, data: { occupied: i % 2 === 0, count: i } });
      await rt.stop(sensor);
      expect(await rt.get(sensor, 'latest')).toEqual({ occupied: i % 2 === 0, count: i });
    }
    await rt.close();
  });

  it('restores twins, joins and timers after a restart', async () => {
    const dir = tempDir();
    const clock1 = new SimulatedClock(T0);
    const rt1 = runtimeOn(dir, { clock: clock1 });
    await rt1.ingest([
      { subject: `${ROOM}/sensors/climate`, data: { temperature: 23, humidity: 40 } },
      { subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } },
      { subject: `${ROOM}/sensors/fire`, data: { alarm: true } },
    ]);
    await rt1.close();

    const clock2 = new SimulatedClock(T0 + MIN);
    const rt2 = runtimeOn(dir, { clock: clock2 });
    const out: DerivedEvent[] = [];
    rt2.onOutput((e) => out.push(e));
    expect(await rt2.read(ROOM, ['temperature', 'occupied', 'alarm'])).toMatchObject({
      lanes: { temperature: 23, occupied: true, alarm: true },
    });
    expect(await rt2.get('/org/o/site/s', 'alarmSources')).toEqual([`${ROOM}/sensors/fire`]);
    // The restored sensor re-arms its offline timer from its record.
    expect(await rt2.get(`${ROOM}/sensors/climate`, 'status')).toBe('ok');
    clock2.advance(10 * MIN);
    await rt2.settle();
    expect(await rt2.get(`${ROOM}/sensors/climate`, 'status')).toBe('offline');
    expect(out.map((e) => e.type)).toContain('sensor.offline');
    // The dedupe window survived too: a redelivered event has no second effect.
    await rt2.close();
  });

  it("lists stored twins under a prefix and keeps a small join in its twin's record", async () => {
    const dir = tempDir();
    const rt = runtimeOn(dir);
    await rt.ingest([
      { subject: `${ROOM}/sensors/climate`, data: { temperature: 21, humidity: 40 } },
      { subject: '/org/o/site/t/building/2/floor/1/unit/a/room/1/sensors/fire', data: { alarm: false } },
    ]);
    await rt.close();
    const store = LmdbStateStore.open({ path: dir });
    const under = [...store.list('/org/o/site/s')].sort();
    expect(under).toContain(ROOM);
    expect(under).toContain(`${ROOM}/sensors/climate`);
    expect(under.every((p) => p === '/org/o/site/s' || p.startsWith('/org/o/site/s/'))).toBe(true);
    const room = store.load(ROOM);
    // The room's join of its one sensor: in its record, keyed relative to the room, no entries.
    expect(room?.values.$in).toEqual({
      sensors: [1, 'sensors/climate', { temperature: 21, occupied: false, alarm: false }],
    });
    expect(room?.values.$e).toBe(0);
    expect(room?.entries.size).toBe(0);
    expect(store.load('/nowhere')).toBeUndefined();
    await store.close();
  });

  it('acknowledges at once in relaxed mode and still persists', async () => {
    const dir = tempDir();
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      store: LmdbStateStore.open({ path: dir, durability: 'relaxed' }),
    });
    await rt.ingest({ subject: `${ROOM}/sensors/climate`, data: { temperature: 19, humidity: 40 } });
    await rt.close();
    const rt2 = runtimeOn(dir);
    expect(await rt2.get(ROOM, 'temperature')).toBe(19);
    await rt2.close();
  });

  it('refuses a data directory written by a newer format', async () => {
    const dir = tempDir();
    const store = LmdbStateStore.open({ path: dir });
    store.meta.putSync('format', 99);
    await store.close();
    expect(() => LmdbStateStore.open({ path: dir })).toThrow(/format 99/);
  });
});

describe('model evolution', () => {
  const v1 = defineTwin({
    name: 'thermostat',
    route: '/t/:id',
    version: 1,
    lanes: { setpointF: value(68), mode: value('auto'), history: map<number>() },
    on: {
      set: (ctx, e) => {
        ctx.lanes.setpointF.set((e.data as { f: number }).f);
        ctx.lanes.history.update('last', 1);
      },
    },
  });
  // v2: the setpoint moved to °C (same lane name, new meaning: migrate), `mode` was removed,
  // `eco` was added.
  const v2 = defineTwin({
    name: 'thermostat',
    route: '/t/:id',
    version: 2,
    lanes: {
      setpointF: value(20, {
        migrate: (f, from) => (from === 1 ? Math.round((((f as number) - 32) * 5) / 9) : (f as number)),
      }),
      eco: value(false),
      history: map<number>(),
    },
  });

  it('upgrades a data directory written by the previous model version', async () => {
    const dir = tempDir();
    const rt1 = createRuntime({ models: [v1], logger: silent, store: LmdbStateStore.open({ path: dir }) });
    await rt1.ingest({ subject: '/t/1', type: 'set', data: { f: 77 } });
    await rt1.close();
    const rt2 = createRuntime({ models: [v2], logger: silent, store: LmdbStateStore.open({ path: dir }) });
    expect((await rt2.read('/t/1')).lanes).toEqual({ setpointF: 25, eco: false, history: { last: 1 } });
    await rt2.stop('/t/1'); // rewrites the record at version 2
    await rt2.close();
    const store = LmdbStateStore.open({ path: dir });
    expect(store.load('/t/1')?.values).toMatchObject({ $v: 2, setpointF: 25, eco: false });
    expect(store.load('/t/1')?.values).not.toHaveProperty('mode');
    await store.close();
  });
});

describe('passivation', () => {
  const counter = defineTwin({
    name: 'counter',
    route: '/n/:id',
    lanes: { n: value(0), last: value('') },
    on: {
      inc: (ctx, e) => {
        ctx.lanes.n.set(ctx.lanes.n.get() + 1);
        ctx.lanes.last.set(e.id);
      },
    },
  });

  it('keeps live twins under the limit with 100k twins, and every twin is right afterwards', async () => {
    const dir = tempDir();
    const limit = 2000;
    const rt = createRuntime({
      models: [counter],
      logger: silent,
      store: LmdbStateStore.open({ path: dir, durability: 'relaxed' }),
      passivation: { maxActive: limit },
    });
    const N = 100_000;
    let peak = 0;
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let heapPeak = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < N; i += 5000) {
        const batch = Array.from({ length: 5000 }, (_, j) => ({
          subject: `/n/${i + j}`,
          type: 'inc',
          id: `${round}-${i + j}`,
        }));
        const report = await rt.ingest(batch);
        expect(report.rejected).toEqual([]);
        peak = Math.max(peak, rt.stats().activeTwins);
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed - heap0);
      }
    }
    expect(peak).toBeLessThanOrEqual(Math.ceil(limit * 1.1) + 5000); // one batch of new twins over the limit at most
    expect(rt.stats().activeTwins).toBeLessThanOrEqual(Math.ceil(limit * 1.1) + 5000);
    // Generous: 100k twins fully live would need far more (about 1 KB each plus their state).
    expect(heapPeak).toBeLessThan(200 * 2 ** 20);
    for (let i = 0; i < N; i += 997) {
      expect((await rt.read(`/n/${i}`)).lanes).toEqual({ n: 2, last: `1-${i}` });
    }
    await rt.close();
    const store = LmdbStateStore.open({ path: dir });
    expect(store.twinCount).toBe(N);
    let wrong = 0;
    for (let i = 0; i < N; i++) if ((store.load(`/n/${i}`)?.values as { n?: number } | undefined)?.n !== 2) wrong++;
    expect(wrong).toBe(0);
    await store.close();
  });

  it('passivates idle twins across 2038-01-19 (seconds past 2^31 since 1970) and in far-off simulated years', async () => {
    // A replay of recorded data may run on a simulated clock anywhere in time. Activity was
    // kept as int32 seconds since 1970, which wrap at 2038-01-19 03:14:08: twins active before
    // it looked newer than any cutoff after it and were never passivated.
    for (const start of [Date.UTC(2038, 0, 19, 3, 10), Date.UTC(2081, 5, 1), Date.UTC(1999, 0, 1)]) {
      const clock = new SimulatedClock(start);
      const rt = createRuntime({
        models: [counter],
        logger: silent,
        clock,
        store: new MemoryStateStore(),
        passivation: { idleMs: 5 * MIN },
      });
      await rt.ingest([{ subject: '/n/a', type: 'inc' }]);
      expect(rt.activePaths()).toEqual(['/n/a']);
      clock.advance(3 * MIN);
      await rt.ingest([{ subject: '/n/b', type: 'inc' }]);
      clock.advance(3 * MIN); // a idle 6 min, b 3 min
      await rt.settle();
      expect(rt.activePaths(), new Date(start).toISOString()).toEqual(['/n/b']);
      clock.advance(11 * MIN);
      await rt.settle();
      expect(rt.activePaths(), new Date(start).toISOString()).toEqual([]);
      expect(await rt.get('/n/a', 'n')).toBe(1);
      await rt.close();
    }
  });

  it('passivates idle twins on the clock, and they come back transparently', async () => {
    const clock = new SimulatedClock(T0);
    const rt = createRuntime({
      models: [counter],
      logger: silent,
      clock,
      store: LmdbStateStore.open({ path: tempDir() }),
      passivation: { idleMs: 5 * MIN },
    });
    const seen: number[] = [];
    await rt.link('/n/linked', 'n', (e) => seen.push((e as { value: number }).value)).synced;
    await rt.ingest([
      { subject: '/n/a', type: 'inc' },
      { subject: '/n/linked', type: 'inc' },
    ]);
    expect(rt.activePaths().sort()).toEqual(['/n/a', '/n/linked']);
    clock.advance(11 * MIN);
    await rt.settle();
    expect(rt.activePaths()).toEqual([]);
    await rt.ingest({ subject: '/n/linked', type: 'inc', id: 'again' });
    expect(await rt.get('/n/linked', 'n')).toBe(2);
    expect(seen).toEqual([0, 1, 2]); // the link survived passivation
    await rt.close();
  });
});
