/**
 * Small keyed lanes (maps, joins) keep their entries in their twin's record (`$in`), large
 * ones as entries (docs/persistence.md, "Record fields"): through a real runtime on LMDB,
 * the layout moves both ways, every state survives a restart, and a directory of the
 * format before (joins only as entries) is read as it is and upgraded by the next writes.
 */
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { createRuntime, defineTwin, join, map, startNode, value, type Runtime } from '../../src/index.js';
import { INLINE_MAX_ENTRIES } from '../../src/lanes/inline-entries.js';
import { FORMAT_VERSION, LmdbStateStore } from '../../src/store/lmdb-store.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });

const hub = defineTwin({
  name: 'hub',
  route: '/h/:hub',
  lanes: {
    nodes: join<number>({ from: 'node', lane: 'v' }),
    total: value(0),
    tags: map<string>(),
  },
  on: {
    tag(ctx, e) {
      const { key, text } = e.data as { key: string; text?: string };
      if (text === undefined) ctx.lanes.tags.remove(key);
      else ctx.lanes.tags.update(key, text);
    },
  },
  onJoin: {
    nodes: {
      update(ctx, _node, v, old) {
        ctx.lanes.total.set(ctx.lanes.total.get() + v - (old ?? 0));
      },
    },
  },
});
const node = defineTwin({
  name: 'node',
  route: '/h/:hub/n/:node',
  lanes: { v: value(0) },
  on: { set: (ctx, e) => ctx.lanes.v.set((e.data as { v: number }).v) },
});

const HUB = '/h/1';

function runtimeOn(dir: string): Runtime {
  return createRuntime({ models: [hub, node], logger: silent, store: LmdbStateStore.open({ path: dir }) });
}

async function tag(rt: Runtime, key: string, text?: string): Promise<void> {
  const report = await rt.ingest({ subject: HUB, type: 'tag', data: text === undefined ? { key } : { key, text } });
  expect(report.accepted).toBe(1);
}

/** The hub's stored layout: what its record holds in `$in`, and its entries by lane. */
async function storedHub(dir: string): Promise<{ inline: unknown; entries: Record<string, number> }> {
  const store = LmdbStateStore.open({ path: dir });
  try {
    const stored = store.load(HUB)!;
    const entries = Object.fromEntries([...stored.entries].map(([lane, m]) => [lane, m.size]));
    return { inline: stored.values.$in, entries };
  } finally {
    await store.close();
  }
}

describe('small keyed lanes in the record, on LMDB', () => {
  it('a map moves to entries past the bound and back into the record once it shrank; each state survives a restart', async () => {
    const dir = tempDir();
    const expected: Record<string, string> = {};
    const restartAndCheck = async (rt: Runtime): Promise<Runtime> => {
      await rt.close();
      const again = runtimeOn(dir);
      expect(await again.get(HUB, 'tags')).toEqual(expected);
      return again;
    };
    let rt = runtimeOn(dir);
    for (let i = 0; i < 8; i++) await tag(rt, `k${i}`, (expected[`k${i}`] = `tag ${i}`));
    rt = await restartAndCheck(rt);
    await rt.close();
    expect(await storedHub(dir)).toEqual({
      inline: { tags: [0, ...Object.entries(expected).flat()] },
      entries: {},
    });

    rt = runtimeOn(dir);
    for (let i = 8; i <= INLINE_MAX_ENTRIES; i++) await tag(rt, `k${i}`, (expected[`k${i}`] = `tag ${i}`));
    rt = await restartAndCheck(rt);
    await rt.close();
    expect(await storedHub(dir)).toEqual({ inline: undefined, entries: { tags: INLINE_MAX_ENTRIES + 1 } });

    rt = runtimeOn(dir);
    for (let i = 0; i <= INLINE_MAX_ENTRIES - 10; i++) {
      await tag(rt, `k${i}`);
      delete expected[`k${i}`];
    }
    rt = await restartAndCheck(rt);
    await rt.close();
    expect(await storedHub(dir)).toEqual({ inline: { tags: expect.any(Array) as unknown }, entries: {} });
  });

  it("a join of its children is in the parent's record, keyed relative to it, and restores after a restart", async () => {
    const dir = tempDir();
    let rt = runtimeOn(dir);
    await rt.ingest([1, 2, 3].map((n) => ({ subject: `${HUB}/n/${n}`, type: 'set', data: { v: n * 10 } })));
    await rt.settle();
    expect(await rt.get(HUB, 'total')).toBe(60);
    await rt.close();
    expect(await storedHub(dir)).toEqual({ inline: { nodes: [1, 'n/1', 10, 'n/2', 20, 'n/3', 30] }, entries: {} });
    rt = runtimeOn(dir);
    expect(await rt.get(HUB, 'nodes')).toEqual({ '/h/1/n/1': 10, '/h/1/n/2': 20, '/h/1/n/3': 30 });
    await rt.ingest({ subject: `${HUB}/n/2`, type: 'set', data: { v: 5 } });
    await rt.settle();
    expect(await rt.get(HUB, 'total')).toBe(45);
    await rt.close();
  });

  it('reads a directory of format 1 (keyed lanes only as entries) as it is, marks it, and moves its small lanes into records as they are written', async () => {
    const dir = tempDir();
    // Format 1's layout, as builds before `$in` wrote it: the join and the map as entries.
    const old = LmdbStateStore.open({ path: dir });
    await old.write([
      { op: 'record', path: HUB, values: { $v: 1, $e: 1, total: 30 }, created: true },
      { op: 'put', path: HUB, lane: 'nodes', key: `${HUB}/n/1`, value: 10 },
      { op: 'put', path: HUB, lane: 'nodes', key: `${HUB}/n/2`, value: 20 },
      { op: 'put', path: HUB, lane: 'tags', key: 'colour', value: 'red' },
      { op: 'record', path: `${HUB}/n/1`, values: { $v: 1, $e: 0, v: 10 }, created: true },
      { op: 'record', path: `${HUB}/n/2`, values: { $v: 1, $e: 0, v: 20 }, created: true },
    ]);
    old.meta.putSync('format', 1);
    await old.close();

    const rt = runtimeOn(dir);
    expect(await rt.get(HUB, 'nodes')).toEqual({ '/h/1/n/1': 10, '/h/1/n/2': 20 });
    expect(await rt.get(HUB, 'tags')).toEqual({ colour: 'red' });
    await rt.ingest({ subject: `${HUB}/n/3`, type: 'set', data: { v: 30 } });
    await rt.settle();
    expect(await rt.get(HUB, 'total')).toBe(60);
    await rt.close();
    // The join was written (a child joined): all of it moved into the record. The map was not: still an entry.
    expect(await storedHub(dir)).toEqual({
      inline: { nodes: [1, 'n/1', 10, 'n/2', 20, 'n/3', 30] },
      entries: { tags: 1 },
    });
    const store = LmdbStateStore.open({ path: dir });
    expect(store.meta.get('format')).toBe(FORMAT_VERSION);
    await store.close();
    const again = runtimeOn(dir);
    expect(await again.get(HUB, 'nodes')).toEqual({ '/h/1/n/1': 10, '/h/1/n/2': 20, '/h/1/n/3': 30 });
    expect(await again.get(HUB, 'tags')).toEqual({ colour: 'red' });
    await again.close();
  });

  it("at the defaults (a worker per core, LMDB strict): the building's joins are in their records, and a restart restores them", async () => {
    const dir = tempDir();
    const unit = '/org/o/site/s/building/1/floor/1/unit/a';
    const node = () =>
      startNode({
        models: buildingModels(),
        modelSource: buildingModelSource(),
        workers: availableParallelism(),
        dataDir: dir,
        port: 0,
        logger: silent,
      });
    const kinds = ['climate', 'occupancy', 'fire', 'gasbio'] as const;
    const data = {
      climate: { temperature: 21, humidity: 40 },
      occupancy: { occupied: true },
      fire: { alarm: false },
      gasbio: { alarm: false, level: 3 },
    };
    const first = await node();
    const report = await first.runtime.ingest(
      [1, 2].flatMap((room) => kinds.map((k) => ({ subject: `${unit}/room/${room}/sensors/${k}`, data: data[k] }))),
    );
    expect(report.accepted).toBe(8);
    await first.runtime.settle();
    const before = {
      room: await first.runtime.get(`${unit}/room/1`, 'sensors'),
      unit: await first.runtime.get(unit, 'roomOccupied'),
    };
    await first.close();

    const store = LmdbStateStore.open({ path: dir });
    const room = store.load(`${unit}/room/1`)!;
    expect(room.values.$e).toBe(0);
    expect((room.values.$in as { sensors: unknown[] }).sensors.filter((_, i) => i % 2 === 1).sort()).toEqual(
      kinds.map((k) => `sensors/${k}`).sort(),
    );
    expect(store.load(unit)!.values.$in).toMatchObject({ roomOccupied: [1, 'room/1', true, 'room/2', true] });
    await store.close();

    const second = await node();
    expect(await second.runtime.get(`${unit}/room/1`, 'sensors')).toEqual(before.room);
    expect(await second.runtime.get(unit, 'roomOccupied')).toEqual(before.unit);
    expect(await second.runtime.get(unit, 'occupiedRooms')).toBe(2);
    await second.close();
  }, 60_000);
});
