/**
 * persistence: the building model on LMDB.
 * - persisted events/s in strict and relaxed durability, beside raw batched lmdb puts of
 *   the same record bytes (same keys, same number of puts, transactions of the same sizes,
 *   same durability) in the same run;
 * - restore rate: twins/s activated from disk with 1 M stored twins (quick: 100 k), beside
 *   `LmdbStateStore.load` of the same twins (the read and decode alone);
 * - heap per active (restored) twin;
 * - time to ready after a restart with 1 M stored twins: open the store, create the
 *   runtime, first read answered (activation is lazy).
 */
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { Packr } from 'msgpackr';
import { pino } from 'pino';
import { buildingModels } from '../models/index.js';
import { createRuntime, MemoryStateStore, SimulatedClock, type EventInput, type Runtime } from '../src/index.js';
import type { StateStore, StateWrite, StoredTwin } from '../src/store/state-store.js';
import { LmdbStateStore, type Durability } from '../src/store/lmdb-store.js';
import { fleetSensors, randomEvents } from './core.js';
import { median, perSecond, repeat, type BenchContext, type Figure } from './lib/harness.js';
import { feed } from './lib/feed.js';
import { LeanBuilding } from './lean/lean-building.js';
import { LeanPersisted } from './lean/lean-persisted.js';
import { leanTopology } from './lean/topology.js';

const silent = pino({ level: 'silent' });
const SEP = '\u001f';
const T0 = 1_700_000_000_000;
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tf-bench-persist-'));
  dirs.push(d);
  return d;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A store that records the batches it is given (for the raw baseline), else passes through. */
function recording(store: LmdbStateStore): { store: StateStore; batches: StateWrite[][]; recording: boolean } {
  const out = { store: store as StateStore, batches: [] as StateWrite[][], recording: false };
  out.store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return (batch: readonly StateWrite[]) => {
          if (out.recording) out.batches.push([...batch]);
          return target.write(batch);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return out;
}

/**
 * The lean yardstick's persisted variant (bench/lean) over the same warm-up and events (the
 * same ids as the runtime's passes), steps of the same 5,000 events, until flushed: a
 * `pass` at a time, so it can run beside the runtime's passes.
 */
async function leanPersisted(
  durability: Durability,
  sensors: string[],
  events: EventInput[],
): Promise<{ pass(): Promise<void>; rates: number[]; close(): Promise<void> }> {
  const lean = new LeanPersisted(new LeanBuilding(leanTopology(sensors)), tempDir(), durability);
  const warm = sensors.map((s, i) => ({ ...randomEvents([s], 1, i)[0]!, id: `w${i}` }));
  await lean.run(warm, 5000, Date.now);
  await lean.sync();
  const rates: number[] = [];
  let pass = 0;
  return {
    rates,
    async pass() {
      pass++;
      for (let i = 0; i < events.length; i++) events[i]!.id = `l${pass}:${i}`;
      gc();
      const t0 = process.hrtime.bigint();
      await lean.run(events, 5000, Date.now);
      await lean.sync();
      rates.push(perSecond(events.length, process.hrtime.bigint() - t0));
    },
    close: () => lean.close(),
  };
}

interface Throughput {
  ours: number[];
  raw: number[];
  putsPerEvent: number;
  txnSize: number;
}

/**
 * Events/s through the runtime on LMDB with `durability`, and raw lmdb puts of what it
 * wrote. `alongside`, when given, runs once beside each pass, before it on odd passes and
 * after it on even ones, so the two are measured in the same seconds (this machine's speed
 * drifts by up to 2x within minutes; see bench/README.md).
 */
async function eventsPerSecond(
  ctx: BenchContext,
  durability: Durability,
  sensors: string[],
  events: EventInput[],
  alongside?: () => Promise<unknown>,
): Promise<Throughput> {
  const lmdb = LmdbStateStore.open({ path: tempDir(), durability });
  const rec = recording(lmdb);
  const rt = createRuntime({ models: buildingModels(), logger: silent, store: rec.store });
  const warm = sensors.map((s, i) => ({ ...randomEvents([s], 1, i)[0]!, id: `w${i}` }));
  await feed(rt, warm, 5000);
  await rt.settle();
  await lmdb.sync();

  let pass = 0;
  const ours = await repeat(ctx.runs, async () => {
    pass++;
    if (alongside && pass % 2 === 1) await alongside();
    for (let i = 0; i < events.length; i++) events[i]!.id = `${pass}:${i}`;
    rec.batches.length = 0;
    rec.recording = true;
    const t0 = process.hrtime.bigint();
    await feed(rt, events, 5000);
    await lmdb.sync(); // relaxed: until the data is on disk, as strict is
    const rate = perSecond(events.length, process.hrtime.bigint() - t0);
    rec.recording = false;
    if (alongside && pass % 2 === 0) await alongside();
    return rate;
  });
  await rt.close();

  // Raw baseline: the same keys and msgpack bytes, the same transactions, no runtime.
  const packr = new Packr({ useRecords: true, structures: [] });
  const txns = rec.batches.map((b) =>
    b
      .filter((w) => w.op !== 'journal')
      .map((w): [string, Buffer | null] => {
        switch (w.op) {
          case 'record':
            return [w.path, packr.pack(w.values)];
          case 'put':
            return [w.path + SEP + w.lane + SEP + w.key, packr.pack(w.value)];
          default:
            return [w.path + SEP + w.lane + SEP + (w.key ?? ''), null];
        }
      }),
  );
  const puts = txns.reduce((n, t) => n + t.length, 0);
  const root = open({ path: tempDir(), mapSize: 64 * 2 ** 30, maxDbs: 8 });
  const db = root.openDB<Buffer, string>({ name: 'records', encoding: 'binary' });
  const raw = await repeat(ctx.runs, async () => {
    const t0 = process.hrtime.bigint();
    let last: Promise<unknown> = Promise.resolve();
    for (const txn of txns) {
      last = root.transaction(() => {
        for (const [k, v] of txn) {
          if (v) db.putSync(k, v);
          else db.removeSync(k);
        }
      });
      if (durability === 'strict') {
        await last;
        await root.flushed;
      }
    }
    await last;
    await root.flushed;
    return perSecond(events.length, process.hrtime.bigint() - t0);
  });
  await root.close();
  return { ours, raw, putsPerEvent: puts / events.length, txnSize: puts / Math.max(1, txns.length) };
}

/**
 * A template floor (5 units × 10 rooms × 4 sensors, one reading each) built by the runtime
 * in memory; the stored fleet is copies of it under other floor paths, so every record is
 * one the runtime itself wrote.
 */
async function templateFloor(): Promise<{ floor: string; twins: Map<string, StoredTwin> }> {
  const floor = '/org/r/site/S/building/B/floor/F';
  const sensors: string[] = [];
  for (let u = 0; u < 5; u++)
    for (let r = 0; r < 10; r++)
      for (const k of ['climate', 'occupancy', 'fire', 'gasbio'])
        sensors.push(`${floor}/unit/u${u}/room/${r}/sensors/${k}`);
  const mem = new MemoryStateStore();
  const rt = createRuntime({ models: buildingModels(), logger: silent, store: mem, clock: new SimulatedClock(T0) });
  await rt.ingest(sensors.map((s, i) => ({ ...randomEvents([s], 1, 1000 + i)[0]!, id: `t${i}`, time: T0 })));
  await rt.close();
  const twins = new Map<string, StoredTwin>();
  for (const p of mem.list('')) twins.set(p, (await mem.load(p))!);
  return { floor, twins };
}

interface Fleet {
  dir: string;
  floors: string[];
  twins: number;
  /** A sensor per floor, for reads. */
  sensorOf(floor: string, i: number): string;
}

/** Writes `floors` copies of the template floor (and their ancestors) straight through `LmdbStateStore.write`. */
export async function writeFleet(target: number): Promise<Fleet> {
  const { floor: tplFloor, twins: tpl } = await templateFloor();
  const inFloor = [...tpl].filter(([p]) => p === tplFloor || p.startsWith(tplFloor + '/'));
  const above = [...tpl].filter(([p]) => !(p === tplFloor || p.startsWith(tplFloor + '/')));
  const floorsNeeded = Math.ceil(target / inFloor.length);
  const floors: string[] = [];
  const perBuilding = 100;
  const buildingsPerSite = 10;
  for (let i = 0; i < floorsNeeded; i++) {
    const b = Math.floor(i / perBuilding);
    floors.push(
      `/org/r/site/s${Math.floor(b / buildingsPerSite)}/building/b${b % buildingsPerSite}/floor/${i % perBuilding}`,
    );
  }
  const dir = tempDir();
  const store = LmdbStateStore.open({ path: dir, durability: 'relaxed' });
  let batch: StateWrite[] = [];
  let twins = 0;
  const flush = async (force = false): Promise<void> => {
    if (batch.length < 50_000 && !force) return;
    await store.write(batch);
    batch = [];
  };
  const sub = (s: string, to: string): string => (s.startsWith(tplFloor) ? to + s.slice(tplFloor.length) : s);
  // Every path of the template floor in a value (lists of rooms and sensors, also inside `$in`) moved to `to`.
  const subValue = (v: unknown, to: string): unknown => {
    if (typeof v === 'string') return sub(v, to);
    if (Array.isArray(v)) return v.map((x) => subValue(x, to));
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, subValue(x, to)]));
  };
  const emit = (path: string, t: StoredTwin, rename: (s: string) => string, to: string): void => {
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t.values)) values[k] = subValue(v, to);
    batch.push({ op: 'record', path, values });
    twins++;
    for (const [lane, entries] of t.entries)
      for (const [key, value] of entries)
        batch.push({ op: 'put', path, lane, key: rename(key), value: subValue(value, to) });
  };
  for (const to of floors) {
    for (const [p, t] of inFloor) emit(sub(p, to), t, (k) => sub(k, to), to);
    await flush();
  }
  // Buildings, sites and the org: the template's record, with one join entry per child.
  const levels = new Map<string, Set<string>>();
  for (const f of floors) {
    let child = f;
    for (
      let parent = f.slice(0, f.lastIndexOf('/', f.lastIndexOf('/') - 1));
      parent.length > 0 && parent !== '/org';
      parent = parent.slice(0, parent.lastIndexOf('/', parent.lastIndexOf('/') - 1))
    ) {
      if (!levels.has(parent)) levels.set(parent, new Set());
      levels.get(parent)!.add(child);
      child = parent;
    }
  }
  for (const [p, children] of levels) {
    const depth = p.split('/').length;
    const t = above.find(([q]) => q.split('/').length === depth);
    if (!t) continue;
    const [tplPath, tplTwin] = t;
    const entries = new Map<string, Map<string, unknown>>();
    for (const [lane, e] of tplTwin.entries) {
      const first = e.values().next().value;
      entries.set(lane, new Map([...children].map((c) => [c, first])));
    }
    // Joins held in the record name the template's children: left out (agreeUpward fills them).
    const { $in: _inline, ...values } = tplTwin.values;
    emit(p, { values: { ...values, $e: entries.size > 0 ? 1 : 0 }, entries }, (k) => k, tplPath);
    await flush();
  }
  await flush(true);
  await store.close();
  await agreeUpward(dir, floors);
  return {
    dir,
    floors,
    twins,
    sensorOf: (f, i) => `${f}/unit/u${i % 5}/room/${Math.floor(i / 5) % 10}/sensors/climate`,
  };
}

/**
 * The buildings, sites and org above were written with the template's join entries, which
 * do not match the copied floors (their room lists name the template's paths): restoring a
 * floor would then change its building and write it, on every restore, which a runtime's
 * own store never asks for (a parent's entry is the child's value). So the runtime starts
 * each floor once (a read), its announcement puts the floor's value in its building and up
 * to the org, and the store ends as a runtime leaves it: restores write nothing.
 */
async function agreeUpward(dir: string, floors: string[]): Promise<void> {
  const store = LmdbStateStore.open({ path: dir, durability: 'relaxed' });
  const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
  for (let i = 0; i < floors.length; i += 500) await Promise.all(floors.slice(i, i + 500).map((f) => rt.read(f)));
  await rt.close();
}

/** Activates the twins of `floors` (every sensor read once; rooms, units and floors come along through joins). */
export async function activateFloors(rt: Runtime, floors: string[]): Promise<void> {
  const reads: Promise<unknown>[] = [];
  for (const f of floors) {
    for (let u = 0; u < 5; u++)
      for (let r = 0; r < 10; r++)
        for (const k of ['climate', 'occupancy', 'fire', 'gasbio'])
          reads.push(rt.read(`${f}/unit/u${u}/room/${r}/sensors/${k}`, ['status']));
    if (reads.length >= 10_000) await Promise.all(reads.splice(0));
  }
  await Promise.all(reads);
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  try {
    // 1. Persisted events/s.
    const sensors = fleetSensors(ctx.quick);
    const events = randomEvents(sensors, ctx.quick ? 50_000 : 200_000, 11);
    // The same runtime and events with state in memory: what the runtime costs without
    // disk, a pass beside each strict pass (alternating which goes first), so the ratio
    // compares the same minutes of this machine.
    const memRuntime = createRuntime({ models: buildingModels(), logger: silent, store: new MemoryStateStore() });
    await feed(
      memRuntime,
      sensors.map((s, i) => ({ ...randomEvents([s], 1, i)[0]!, id: `w${i}` })),
      5000,
    );
    const mem: number[] = [];
    let memPass = 0;
    const memoryPass = async (): Promise<void> => {
      memPass++;
      for (let i = 0; i < events.length; i++) events[i]!.id = `m${memPass}:${i}`;
      gc();
      const t0 = process.hrtime.bigint();
      await feed(memRuntime, events, 5000);
      mem.push(perSecond(events.length, process.hrtime.bigint() - t0));
    };
    // The lean persisted loop likewise, beside each strict pass.
    const lean = await leanPersisted('strict', sensors, events);
    const beside = async (): Promise<void> => {
      await memoryPass();
      await lean.pass();
    };
    for (const durability of ['strict', 'relaxed'] as const) {
      const t = await eventsPerSecond(ctx, durability, sensors, events, durability === 'strict' ? beside : undefined);
      if (durability === 'strict') {
        await memRuntime.close();
        await lean.close();
        mem.shift(); // beside the warm-up pass
        lean.rates.shift();
        figures.push({
          scenario: 'persistence',
          figure: `events/s, same events, MemoryStateStore (no disk)`,
          unit: 'ev/s',
          ours: mem,
        });
      }
      figures.push({
        scenario: 'persistence',
        figure: `persisted events/s, ${durability}, ${sensors.length / 1000}k sensors`,
        unit: 'ev/s',
        ours: t.ours,
        baseline: t.raw,
        baselineName: `raw lmdb ${t.putsPerEvent.toFixed(2)} puts/ev, txn ${Math.round(t.txnSize)}`,
        ...(durability === 'strict' ? { target: { ratio: 0.5, cmp: '>=' as const } } : {}),
      });
      gc();
      if (durability === 'strict') {
        // Issue 18: what persisting (strict: fsync'd before the acknowledgement) costs over
        // the same runtime and events in memory, measured pass by pass beside it.
        figures.push({
          scenario: 'persistence',
          figure: `persisted events/s, strict, ${sensors.length / 1000}k sensors`,
          unit: 'ev/s',
          ours: t.ours,
          baseline: mem,
          baselineName: 'same events, MemoryStateStore, alternating passes',
          target: { ratio: 0.8, cmp: '>=' },
        });
        figures.push({
          scenario: 'persistence',
          figure: `persisted events/s, strict, ${sensors.length / 1000}k sensors`,
          unit: 'ev/s',
          ours: t.ours,
          baseline: lean.rates,
          baselineName: 'lean persisted loop (bench/lean), strict, alternating passes',
          target: { ratio: 0.33, cmp: '>=' },
        });
        gc();
      }
    }

    // 2. Restore rate, heap per twin, time to ready, with 1 M (quick: 100 k) stored twins.
    const target = ctx.quick ? 100_000 : 1_000_000;
    const t0 = Date.now();
    const fleet = await writeFleet(target);
    process.stderr.write(`persistence: wrote ${fleet.twins} twins in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const label = `${Math.round(fleet.twins / 1000)}k stored`;
    const perRun = Math.min(ctx.quick ? 100 : 400, Math.floor(fleet.floors.length / (2 * ctx.runs + 2)));
    let slice = 0;
    const nextFloors = (): string[] => fleet.floors.slice(slice * perRun, ++slice * perRun);

    const restore: number[] = [];
    const heap: number[] = [];
    const load: number[] = [];
    await repeat(
      ctx.runs,
      async () => {
        const store = LmdbStateStore.open({ path: fleet.dir });
        const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
        await rt.read(fleet.sensorOf(fleet.floors[fleet.floors.length - 1]!, 0)); // the first read, outside the timing
        const floors = nextFloors();
        gc();
        const heap0 = process.memoryUsage().heapUsed;
        const active0 = rt.stats().activeTwins;
        const t = process.hrtime.bigint();
        await activateFloors(rt, floors);
        const ns = process.hrtime.bigint() - t;
        const active = rt.stats().activeTwins - active0;
        restore.push(perSecond(active, ns));
        gc();
        heap.push((process.memoryUsage().heapUsed - heap0) / active);
        await rt.close();
        // Baseline: LmdbStateStore.load of the same twins (read + decode, no runtime).
        const again = LmdbStateStore.open({ path: fleet.dir });
        const paths: string[] = [];
        for (const f of floors) for (const p of again.list(f)) paths.push(p);
        const tl = process.hrtime.bigint();
        for (const p of paths) again.load(p);
        load.push(perSecond(paths.length, process.hrtime.bigint() - tl));
        await again.close();
        return 0;
      },
      false,
    );
    // Bulk: Runtime.warm of the same number of floors (other ones), one sequential read per floor.
    const warmed: number[] = [];
    await repeat(
      ctx.runs,
      async () => {
        const store = LmdbStateStore.open({ path: fleet.dir });
        const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
        await rt.read(fleet.sensorOf(fleet.floors[fleet.floors.length - 1]!, 0));
        const floors = nextFloors();
        gc();
        const active0 = rt.stats().activeTwins;
        const t = process.hrtime.bigint();
        await Promise.all(floors.map((f) => rt.warm(f)));
        await rt.settle();
        const ns = process.hrtime.bigint() - t;
        warmed.push(perSecond(rt.stats().activeTwins - active0, ns));
        await rt.close();
        return 0;
      },
      false,
    );
    figures.push({
      scenario: 'persistence',
      figure: `restore on demand: twins/s activated by reads (${label}, ${perRun * 256} per run)`,
      unit: 'twins/s',
      ours: restore,
      baseline: load,
      baselineName: 'store.load of the same twins',
      target: { value: 200_000, cmp: '>=' },
    });
    figures.push({
      scenario: 'persistence',
      figure: `restore in bulk: twins/s by Runtime.warm of ${perRun} floors (${label})`,
      unit: 'twins/s',
      ours: warmed,
      baseline: load,
      baselineName: 'store.load of the same twins',
      target: { value: 200_000, cmp: '>=' },
    });
    figures.push({
      scenario: 'persistence',
      figure: `heap per restored active twin (${perRun * 256} twins, values included)`,
      unit: 'B',
      ours: heap,
    });

    const ready = await repeat(ctx.runs, async () => {
      const t = process.hrtime.bigint();
      const store = LmdbStateStore.open({ path: fleet.dir });
      const rt = createRuntime({ models: buildingModels(), logger: silent, store, clock: new SimulatedClock(T0) });
      await rt.read(fleet.sensorOf(fleet.floors[0]!, 7));
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      await rt.close();
      return ms;
    });
    figures.push({
      scenario: 'persistence',
      figure: `time to ready after restart (${label}: open + createRuntime + first read)`,
      unit: 'ms',
      ours: ready,
      target: { value: 2000, cmp: '<=' },
    });
    process.stderr.write(`persistence: restore median ${Math.round(median(restore))} twins/s\n`);
  } finally {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
  return figures;
}
