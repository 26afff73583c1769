/**
 * `node --expose-gc --max-semi-space-size=64 .bench-build/bench/ab.js <core|small|workers|strict|restore|replay> <dirA> <dirB> [rounds]`:
 * an A/B of two builds of twinflow in one process. Each directory is a checkout compiled
 * with `tsc -p tsconfig.bench.json` (its `.bench-build/` is imported), so two commits are
 * compared without a second process: rounds alternate A, B, B, A, … within seconds of each
 * other, and a machine whose speed drifts by 2x between runs (this one does) shifts both
 * sides alike. It runs twice, in two processes, the second time with A and B swapped (the
 * build loaded first was seen 20-25 % ahead), and prints each run's rounds and medians
 * and the geometric mean of B ÷ A over both orders.
 *
 * - core: a fresh runtime on `MemoryStateStore` per round, the core scenario's fleet (40 k
 *   sensors), warm-up, then 2 timed passes of 400 k random readings through `feed` in
 *   steps of 5,000; events/s and process CPU per event.
 * - small: the same in steps of 50 events, passes of 100 k (a lightly loaded node, where
 *   parents' join turns coalesce little).
 * - workers: the same at 2 worker threads (the default flags on 2 cores), passes of 200 k;
 *   CPU per event counts every thread of the process.
 * - strict: a fresh runtime on LMDB (`strict`, a temp directory) per round, the core fleet,
 *   warm-up, then one timed pass of 200 k readings in steps of 5,000 until on disk;
 *   events/s, store writes (puts and deletes) per event, and CPU per event of all threads.
 * - restore: one stored fleet per build (300 k twins, written by its own `writeFleet`: a
 *   build reads only its own layout); per round a fresh
 *   runtime activates up to 60 fresh floors by reads (`activateFloors`), then `store.load` of the same
 *   twins; twins/s and the ratio to the load, per round (after one uncounted round each).
 * - replay: a recording of the generated fleet (1 M events, 40 k sensors), one written by each build;
 *   per round `runReplay` with state in memory at 0 workers, tick 1 s; events/s.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { EventInput } from '../src/index.js';

/** What this tool uses of a build (the compiled modules, typed loosely: two builds of one API). */
interface Build {
  dir: string;
  src: typeof import('../src/index.js');
  lmdb: typeof import('../src/store/lmdb-store.js');
  models: typeof import('../models/index.js');
  core: typeof import('./core.js');
  feed: typeof import('./lib/feed.js');
  persistence: typeof import('./persistence.js');
  fleet: typeof import('../models/fleet.js');
  replay: typeof import('../src/recording/replay-run.js');
  writer: typeof import('../src/recording/recording-writer.js');
}

const silent = pino({ level: 'silent' });

async function load(dir: string): Promise<Build> {
  const root = pathToFileURL(resolve(dir, '.bench-build')).href;
  const at = (p: string): Promise<never> => import(`${root}/${p}`) as Promise<never>;
  return {
    dir,
    src: await at('src/index.js'),
    lmdb: await at('src/store/lmdb-store.js'),
    models: await at('models/index.js'),
    core: await at('bench/core.js'),
    feed: await at('bench/lib/feed.js'),
    persistence: await at('bench/persistence.js'),
    fleet: await at('models/fleet.js'),
    replay: await at('src/recording/replay-run.js'),
    writer: await at('src/recording/recording-writer.js'),
  };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Round r's order: A then B on even rounds, B then A on odd ones. */
const order = (r: number): [number, number] => (r % 2 === 0 ? [0, 1] : [1, 0]);

/** The core scenario's fleet (40 k sensors): `count` random readings, and one reading per sensor to warm up with. */
function coreFleet(builds: Build[], count: number): { events: EventInput[]; warm: EventInput[] } {
  const { fleetSensors, randomEvents } = builds[0]!.core;
  const sensors = fleetSensors(false);
  const warm = sensors.map((subject, i) => ({ ...randomEvents([subject], 1, i)[0]!, id: `w${i}` }));
  return { events: randomEvents(sensors, count, 7), warm };
}

async function core(builds: Build[], rounds: number, step = 5000, count = 400_000, workers = 0): Promise<void> {
  const { events, warm } = coreFleet(builds, count);
  const rates: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  let tag = 0;
  for (let r = 0; r < rounds; r++)
    for (const k of order(r)) {
      const b = builds[k]!;
      gc();
      const rt = b.src.createRuntime({
        models: b.models.buildingModels(),
        logger: silent,
        ...(workers > 0
          ? { workers: { count: workers, models: b.models.buildingModelSource() } }
          : { store: new b.src.MemoryStateStore() }),
      });
      await b.feed.feed(rt, warm, 5000);
      gc();
      for (let pass = 0; pass < 2; pass++) {
        tag++;
        for (let i = 0; i < events.length; i++) events[i]!.id = `${tag}:${i}`;
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await b.feed.feed(rt, events, step);
        const ns = Number(process.hrtime.bigint() - t0);
        const c = process.cpuUsage(c0);
        rates[k]!.push(events.length / (ns / 1e9));
        cpu[k]!.push((c.user + c.system) / events.length);
      }
      await rt.close();
    }
  for (let k = 0; k < 2; k++)
    console.log(
      `${'AB'[k]} ${builds[k]!.dir}: ${(median(rates[k]!) / 1000).toFixed(1)}k ev/s ` +
        `[${rates[k]!.map((x) => (x / 1000).toFixed(0)).join(' ')}], CPU ${median(cpu[k]!).toFixed(2)} µs/event`,
    );
  console.log(`B ÷ A: ${(median(rates[1]!) / median(rates[0]!)).toFixed(3)} (events/s, medians)`);
}

async function strict(builds: Build[], rounds: number, count = 200_000): Promise<void> {
  const { events, warm } = coreFleet(builds, count);
  const rates: number[][] = [[], []];
  const writes: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  let tag = 0;
  for (let r = 0; r < rounds; r++)
    for (const k of order(r)) {
      const b = builds[k]!;
      const dir = mkdtempSync(join(tmpdir(), 'twinflow-ab-strict-'));
      try {
        gc();
        const store = b.lmdb.LmdbStateStore.open({ path: dir, durability: 'strict' });
        let ops = 0;
        const write = store.write.bind(store);
        store.write = (batch) => ((ops += batch.length), write(batch));
        const rt = b.src.createRuntime({ models: b.models.buildingModels(), logger: silent, store });
        await b.feed.feed(rt, warm, 5000);
        await rt.settle();
        gc();
        tag++;
        for (let i = 0; i < events.length; i++) events[i]!.id = `${tag}:${i}`;
        ops = 0;
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await b.feed.feed(rt, events, 5000);
        await store.sync();
        const ns = Number(process.hrtime.bigint() - t0);
        const c = process.cpuUsage(c0); // every thread: lmdb-js's write thread too
        rates[k]!.push(events.length / (ns / 1e9));
        writes[k]!.push(ops / events.length);
        cpu[k]!.push((c.user + c.system) / events.length);
        await rt.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  report(builds, rates, 'ev/s');
  for (let k = 0; k < 2; k++)
    console.log(
      `${'AB'[k]}: ${median(writes[k]!).toFixed(3)} store writes per event, ` +
        `CPU ${median(cpu[k]!).toFixed(2)} µs/event (all threads) [${cpu[k]!.map((x) => x.toFixed(1)).join(' ')}]`,
    );
}

async function restore(builds: Build[], rounds: number): Promise<void> {
  const fleets = [await builds[0]!.persistence.writeFleet(300_000), await builds[1]!.persistence.writeFleet(300_000)];
  const fleet = fleets[0]!;
  // Fresh floors every round (a floor read once is live in no later runtime, but its pages are cached).
  const perRound = Math.min(60, Math.floor(fleet.floors.length / (2 * (rounds + 1))));
  let slice = 0;
  const rates: number[][] = [[], []];
  const loads: number[][] = [[], []];
  // Round -1 warms each build's code up (its restore path is JIT-compiled there) and is not counted.
  for (let r = -1; r < rounds; r++)
    for (const k of order(r + 2)) {
      const b = builds[k]!;
      const rt = b.src.createRuntime({
        models: b.models.buildingModels(),
        logger: silent,
        store: b.lmdb.LmdbStateStore.open({ path: fleets[k]!.dir }),
        clock: new b.src.SimulatedClock(1_700_000_000_000),
      });
      await rt.read(fleet.sensorOf(fleet.floors[fleet.floors.length - 1]!, 0)); // the first read, untimed
      const floors = fleet.floors.slice(slice * perRound, ++slice * perRound);
      gc();
      const before = rt.stats().activeTwins;
      const t0 = process.hrtime.bigint();
      await b.persistence.activateFloors(rt, floors);
      const ns = Number(process.hrtime.bigint() - t0);
      const rate = (rt.stats().activeTwins - before) / (ns / 1e9);
      await rt.close();
      if (r < 0) continue;
      rates[k]!.push(rate);
      const again = b.lmdb.LmdbStateStore.open({ path: fleets[k]!.dir });
      const paths: string[] = [];
      for (const f of floors) for (const p of again.list(f)) paths.push(p);
      const t1 = process.hrtime.bigint();
      for (const p of paths) again.load(p);
      loads[k]!.push(paths.length / (Number(process.hrtime.bigint() - t1) / 1e9));
      await again.close();
    }
  for (let k = 0; k < 2; k++)
    console.log(
      `${'AB'[k]} ${builds[k]!.dir}: restore ${(median(rates[k]!) / 1000).toFixed(1)}k twins/s, ` +
        `store.load ${(median(loads[k]!) / 1000).toFixed(1)}k/s, ÷ load per round ` +
        rates[k]!.map((x, i) => (x / loads[k]![i]!).toFixed(2)).join(' '),
    );
  console.log(`B ÷ A: ${(median(rates[1]!) / median(rates[0]!)).toFixed(3)} (twins/s, medians)`);
}

async function replay(builds: Build[], rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'twinflow-ab-'));
  try {
    // One recording per build, each written by that build's writer (the recording format
    // may differ between them, as it did at format 2).
    const files: string[] = [];
    for (const [k, b] of builds.entries()) {
      const file = join(dir, `fleet-${k}.tfr`);
      const w = b.writer.RecordingWriter.create(file, { created: 0 });
      for (const chunk of b.fleet.generateFleet({ seed: 1, events: 1_000_000 })) {
        for (const e of chunk) w.append(e);
        await w.ready();
      }
      await w.close();
      files.push(file);
    }
    const rates: number[][] = [[], []];
    for (let r = 0; r < rounds; r++)
      for (const k of order(r)) {
        const b = builds[k]!;
        gc();
        const run = await b.replay.runReplay(files[k]!, { models: b.models.buildingModels(), logger: silent });
        rates[k]!.push(run.eventsPerSecond);
      }
    report(builds, rates, 'ev/s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(builds: Build[], rates: number[][], unit: string): void {
  for (let k = 0; k < 2; k++)
    console.log(
      `${'AB'[k]} ${builds[k]!.dir}: ${(median(rates[k]!) / 1000).toFixed(1)}k ${unit} ` +
        `[${rates[k]!.map((x) => (x / 1000).toFixed(0)).join(' ')}]`,
    );
  console.log(`B ÷ A: ${(median(rates[1]!) / median(rates[0]!)).toFixed(3)} (${unit}, medians)`);
}

/**
 * Runs the comparison in two child processes, B after A and then with the checkouts
 * swapped: the build loaded first was seen up to ~20 % ahead, so only the geometric mean
 * of both orders is reported as B ÷ A.
 */
function bothOrders(args: string[]): void {
  const [what, dirA, dirB, ...rest] = args;
  const ratios: number[] = [];
  for (const [first, second] of [
    [dirA!, dirB!],
    [dirB!, dirA!],
  ] as const) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, what!, first, second, ...rest], {
      env: { ...process.env, TWINFLOW_AB_CHILD: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(child.stdout);
    const m = /B ÷ A: ([\d.]+)/.exec(child.stdout);
    if (child.status !== 0 || !m) throw new Error(`ab: the ${first} / ${second} run failed`);
    ratios.push(first === dirA ? Number(m[1]) : 1 / Number(m[1]));
  }
  console.log(`${dirB} ÷ ${dirA}, both orders: ${Math.sqrt(ratios[0]! * ratios[1]!).toFixed(3)}`);
}

/** core in steps of 50 events (a lightly loaded node: parents' join turns coalesce little), 100 k events a pass. */
const small = (builds: Build[], rounds: number): Promise<void> => core(builds, rounds, 50, 100_000);

/** core at the default flags on this machine: 2 worker threads (in-memory state), 200 k events a pass. */
const workers = (builds: Build[], rounds: number): Promise<void> => core(builds, rounds, 5000, 200_000, 2);

const kinds: Record<string, (builds: Build[], rounds: number) => Promise<void>> = {
  core,
  small,
  workers,
  strict,
  restore,
  replay,
};
const args = process.argv.slice(2);
const [what, dirA, dirB, roundsArg] = args;
const kind = what === undefined ? undefined : kinds[what];
if (kind === undefined || !dirA || !dirB) {
  process.stderr.write('usage: ab.js <core|small|workers|strict|restore|replay> <dirA> <dirB> [rounds]\n');
  process.exit(2);
}
if (process.env.TWINFLOW_AB_CHILD === '1') await kind([await load(dirA), await load(dirB)], Number(roundsArg ?? 4));
else bothOrders(args);
