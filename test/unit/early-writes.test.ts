import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, MemoryStateStore, SimulatedClock, type StateWrite } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { UnstorableWritesError } from '../../src/store/state-store.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

/**
 * A store that takes the first part of a batch early (StateStore.writeEarly) and applies it
 * only with the write that completes it, as LMDB's one transaction does; it records what
 * came early, and its next commit can be made to fail (a disk error).
 */
class EarlyStore extends MemoryStateStore {
  /** Paths of each early part, in order. */
  readonly earlyParts: string[][] = [];
  /** Batches as committed (early part first). */
  readonly batches: StateWrite[][] = [];
  failNext = false;
  private open: StateWrite[] | null = null;
  writeEarly(part: readonly StateWrite[]): void {
    this.earlyParts.push(part.map((w) => w.path));
    (this.open ??= []).push(...part);
  }
  override write(batch: readonly StateWrite[]): Promise<void> {
    const whole = [...(this.open ?? []), ...batch];
    this.open = null;
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('EIO: injected disk error'));
    }
    this.batches.push(whole);
    return super.write(whole);
  }
}

const sensor = (room: number, kind = 'occupancy') =>
  `/org/o/site/s/building/1/floor/1/unit/a/room/${room}/sensors/${kind}`;
const silent = pino({ level: 'silent' });
const events = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    subject: sensor(i % 7, i % 2 === 0 ? 'occupancy' : 'climate'),
    data: i % 2 === 0 ? { occupied: i % 3 === 0 } : { temperature: 20 + (i % 5), humidity: 40 },
    id: `${tag}${i}`,
    source: 't',
  }));

async function stored(store: MemoryStateStore): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const p of [...store.list('')].sort()) {
    const t = (await store.load(p))!;
    out.set(p, { values: t.values, entries: [...t.entries].map(([l, m]) => [l, [...m]]) });
  }
  return out;
}

describe('writes handed to the store before the join rounds', () => {
  it('hands over only twins without a join lane, and stores what a store without writeEarly stores', async () => {
    const early = new EarlyStore();
    const plain = new MemoryStateStore();
    for (const store of [early, plain]) {
      const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
      await rt.ingest(events(40, 'a'));
      await rt.ingest(events(40, 'b').reverse());
      await rt.close();
    }
    expect(early.earlyParts.length).toBeGreaterThan(0);
    const leaves = early.earlyParts.flat();
    expect(leaves.length).toBeGreaterThan(0);
    expect(leaves.every((p) => p.includes('/sensors/'))).toBe(true); // rooms, units, floors have join lanes
    // The parents' writes came in the completing part of the same batches.
    expect(early.batches.some((b) => b.some((w) => w.path.endsWith('/room/0')))).toBe(true);
    expect(await stored(early)).toEqual(await stored(plain));
  });

  it('a failed commit fails the tickets and resets the twins whose writes went early', async () => {
    const store = new EarlyStore();
    const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
    const climate = (t: number) => ({ temperature: t, humidity: 40 });
    // Both sensors and their ancestors live: the next step's join rounds load nothing.
    await rt.ingest([
      { subject: sensor(1), data: { occupied: false }, id: 'w1', source: 't' },
      { subject: sensor(1, 'climate'), data: climate(20), id: 'w2', source: 't' },
    ]);
    const parts = store.earlyParts.length;
    store.failNext = true;
    const batch = rt.ingest([
      { subject: sensor(1), data: { occupied: true }, id: 'a', source: 't' },
      { subject: sensor(1, 'climate'), data: climate(25), id: 'b', source: 't' },
    ]);
    await expect(batch).rejects.toMatchObject({ code: 'TWIN_STORE_FAILED' });
    await rt.settle();
    expect(store.earlyParts.length).toBe(parts + 1); // the sensors' writes were handed early
    expect(store.earlyParts.at(-1)!.sort()).toEqual([sensor(1, 'climate'), sensor(1)].sort());
    // Back at their stored state, as the room (whose write was in the same failed batch) is.
    expect((await rt.read(sensor(1), ['latest'])).lanes.latest).toEqual({ occupied: false });
    expect((await rt.read(sensor(1, 'climate'), ['latest'])).lanes.latest).toMatchObject(climate(20));
    const again = await rt.ingest([
      { subject: sensor(1), data: { occupied: true }, id: 'a', source: 't' },
      { subject: sensor(1, 'climate'), data: climate(25), id: 'b', source: 't' },
    ]);
    expect(again.accepted).toBe(2);
    expect((await rt.read(sensor(1, 'climate'), ['latest'])).lanes.latest).toMatchObject(climate(25));
    await rt.close();
  });

  it('hands nothing early when the join rounds would load a parent from the store', async () => {
    const store = new EarlyStore();
    const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
    await rt.ingest({ subject: sensor(5), data: { occupied: true }, id: 'x', source: 't' }); // room 5 not live yet
    expect(store.earlyParts).toEqual([]);
    await rt.ingest({ subject: sensor(5), data: { occupied: false }, id: 'y', source: 't' }); // now it is
    expect(store.earlyParts).toEqual([[sensor(5)]]);
    await rt.close();
  });

  it('LMDB: an early part and its completing write are one batch; what either part cannot encode is reported, the rest stored', async () => {
    const dir = tempDir();
    const store = LmdbStateStore.open({ path: dir, durability: 'strict' });
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 5000; i++) at = (at['d'] = {}) as Record<string, unknown>; // too deep for the encoder
    store.writeEarly([
      { op: 'record', path: '/a/1', values: { v: 1 } },
      { op: 'record', path: '/a/bad', values: { v: deep } },
      { op: 'put', path: '/a/1', lane: 'm', key: 'k', value: 7 },
    ]);
    const done = store.write([{ op: 'record', path: '/b/1', values: { v: 2 } }]);
    const error = (await done.catch((e: unknown) => e)) as UnstorableWritesError;
    expect(error).toBeInstanceOf(UnstorableWritesError);
    expect([...error.paths]).toEqual(['/a/bad']);
    expect(store.load('/a/1')?.values).toEqual({ v: 1 });
    expect(store.load('/a/1')?.entries.get('m')?.get('k')).toBe(7);
    expect(store.load('/b/1')?.values).toEqual({ v: 2 });
    expect(store.load('/a/bad')).toBeUndefined();
    // Nothing is left open: the next write is a batch of its own, and a quarantine may run.
    await store.write([{ op: 'record', path: '/c/1', values: { v: 3 } }]);
    expect(store.quarantine('/c/1', 'test').length).toBeGreaterThan(0);
    await store.close();
  });

  it('LMDB strict: a runtime whose steps hand their leaves early restores the same state after a reopen', async () => {
    const dir = tempDir();
    let store = LmdbStateStore.open({ path: dir, durability: 'strict' });
    const early: number[] = [];
    const writeEarly = store.writeEarly.bind(store);
    store.writeEarly = (part) => {
      early.push(part.length);
      writeEarly(part);
    };
    let rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
    await rt.ingest(events(60, 'a'));
    await rt.ingest(events(60, 'b'));
    const before = await rt.read(sensor(3, 'climate'), ['latest']);
    const room = await rt.read('/org/o/site/s/building/1/floor/1/unit/a/room/3', []);
    await rt.close();
    await store.close();
    expect(early.length).toBeGreaterThan(0);
    store = LmdbStateStore.open({ path: dir, durability: 'strict' });
    rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
    expect(await rt.read(sensor(3, 'climate'), ['latest'])).toEqual(before);
    expect(await rt.read('/org/o/site/s/building/1/floor/1/unit/a/room/3', [])).toEqual(room);
    await rt.close();
    await store.close();
  });
});
