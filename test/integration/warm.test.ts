import { describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { MemoryStateStore } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { roomPaths, seeded } from '../support/fleet.js';
import { advance, simulatedRuntime } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const BUILDING = '/org/o/site/s/building/b1';

/** Readings for every sensor of two buildings; returns the paths that got state. */
async function populate(dir: string): Promise<Set<string>> {
  const { rt } = simulatedRuntime({ models: buildingModels(), store: LmdbStateStore.open({ path: dir }) });
  const rnd = seeded(3);
  const events = [];
  for (const room of roomPaths({ org: 'o', site: 's', buildings: 2, floors: 2, units: 2, rooms: 3 })) {
    events.push({ subject: `${room}/sensors/climate`, data: { temperature: 18 + rnd() * 6, humidity: 40 } });
    events.push({ subject: `${room}/sensors/occupancy`, data: { occupied: rnd() < 0.5 } });
  }
  await rt.ingest(events);
  await rt.settle();
  const paths = new Set(rt.activePaths());
  await rt.close();
  return paths;
}

describe('Runtime.warm', () => {
  for (const workers of [0, 2]) {
    it(`starts every stored twin under a prefix from one sequential read, with the state they had (${workers} workers)`, async () => {
      const dir = tempDir();
      const stored = await populate(dir);
      const under = [...stored].filter((p) => p === BUILDING || p.startsWith(BUILDING + '/'));
      expect(under.length).toBeGreaterThan(40);

      const { rt: reference } = simulatedRuntime({
        models: buildingModels(),
        store: LmdbStateStore.open({ path: dir }),
      });
      const expected = new Map<string, unknown>();
      for (const p of under) expected.set(p, (await reference.read(p)).lanes);
      await reference.close();

      const { rt } = simulatedRuntime({
        models: buildingModels(),
        ...(workers > 0
          ? { workers: { count: workers, models: buildingModelSource(), dataDir: dir } }
          : { store: LmdbStateStore.open({ path: dir }) }),
      });
      expect(await rt.warm(BUILDING)).toBe(under.length);
      await rt.settle();
      // Only the building's subtree (and the ancestors its twins told) became live.
      const live = new Set(rt.activePaths());
      for (const p of under) expect(live.has(p)).toBe(true);
      expect(
        [...live].filter((p) => p.includes('/building/') && !p.startsWith(BUILDING + '/') && p !== BUILDING),
      ).toEqual([]);
      for (const p of under) expect((await rt.read(p)).lanes).toEqual(expected.get(p));
      // Twins already live are left alone.
      expect(await rt.warm(BUILDING)).toBe(0);
      // A site spans shards: every worker scans it and starts what it owns, each twin once.
      const rest = [...stored].filter((p) => p.startsWith('/org/o/site/s/') && !live.has(p));
      expect(rest.length).toBeGreaterThan(40);
      expect(await rt.warm('/org/o/site/s')).toBe(rest.length);
    });
  }

  it('works on a store without a sequential scan (list + load), and with "/" for everything', async () => {
    const store = new MemoryStateStore();
    const { rt } = simulatedRuntime({ models: buildingModels(), store });
    await rt.ingest({
      subject: `${BUILDING}/floor/1/unit/a/room/1/sensors/climate`,
      data: { temperature: 21, humidity: 40 },
    });
    await rt.settle();
    const paths = rt.activePaths();
    for (const p of paths) await rt.stop(p);
    expect(rt.activePaths()).toEqual([]);
    expect(await rt.warm('/')).toBe(paths.length);
    expect(await rt.get(`${BUILDING}/floor/1`, 'temperature')).toBe(21);
  });

  it('keeps warmed twins live for the idle period, then passivates them (idle passivation on)', async () => {
    const store = new MemoryStateStore();
    const sensor = `${BUILDING}/floor/1/unit/a/room/1/sensors/climate`;
    const seed = simulatedRuntime({ models: buildingModels(), store });
    await seed.rt.ingest({ subject: sensor, data: { temperature: 21, humidity: 40 } });
    await seed.rt.close();
    const idleMs = 10 * 60_000;
    const { rt, clock } = simulatedRuntime({ models: buildingModels(), store, passivation: { idleMs } });
    const started = await rt.warm('/');
    expect(started).toBeGreaterThan(1);
    await rt.settle();
    // Warming is for traffic still to come: its twins count as active from their start,
    // not as idle since the epoch (they were stopped by the warm's own step).
    expect(rt.activePaths()).toContain(sensor);
    expect(rt.activePaths()).toHaveLength(started);
    // Passivation still applies to them (the sensor's own timer turns keep it live).
    await advance(rt, clock, idleMs + 60_000);
    expect(rt.activePaths().length).toBeLessThan(started);
  });

  it('skips stored state under a key that is no valid path, and warms the rest', async () => {
    const store = new MemoryStateStore();
    await store.write([{ op: 'record', path: '/org/o/bad\u0001key', values: { $v: 1 } }]); // e.g. written by another tool
    const { rt } = simulatedRuntime({ models: buildingModels(), store });
    const sensor = `${BUILDING}/floor/1/unit/a/room/1/sensors/climate`;
    await rt.ingest({ subject: sensor, data: { temperature: 21, humidity: 40 } });
    await rt.stop(sensor);
    expect(await rt.warm('/org/o')).toBeGreaterThanOrEqual(1);
    expect(rt.activePaths()).toContain(sensor);
  });

  it('skips a stored key that is no valid path with workers too (their ownership check parses it)', async () => {
    const dir = tempDir();
    const seed = LmdbStateStore.open({ path: dir });
    await seed.write([{ op: 'record', path: '/org/o/bad\u0001key', values: { $v: 1 } }]);
    await seed.close();
    const { rt } = simulatedRuntime({
      models: buildingModels(),
      workers: { count: 2, models: buildingModelSource(), dataDir: dir },
    });
    const sensor = `${BUILDING}/floor/1/unit/a/room/1/sensors/climate`;
    await rt.ingest({ subject: sensor, data: { temperature: 21, humidity: 40 } });
    await rt.stop(sensor);
    expect(await rt.warm('/org/o')).toBeGreaterThanOrEqual(1); // a prefix above the shard key: every worker scans it
    await rt.settle();
    expect(rt.activePaths()).toContain(sensor);
  });

  it('rejects a malformed prefix with a clear error', async () => {
    const { rt } = simulatedRuntime({ models: buildingModels() });
    await expect(rt.warm('/org//x')).rejects.toMatchObject({ code: 'TWIN_PATH_INVALID' });
  });
});
