/**
 * core: events/s through the in-process runtime with the building model (40 k sensors,
 * random readings, full aggregation up to the org), beside the lean yardstick (bench/lean:
 * the same semantics written by hand, checked to end in the same state) and a plain Map
 * get-and-update loop over the same keys and readings; bytes allocated per event; heap
 * bytes per active twin.
 */
import { pino } from 'pino';
import { buildingModels } from '../models/index.js';
import { createRuntime, MemoryStateStore, type EventInput, type Runtime } from '../src/index.js';
import { perSecond, repeat, type BenchContext, type Figure } from './lib/harness.js';
import { seededRandom as seeded } from '../models/fleet.js';
import { feed } from './lib/feed.js';
import { bytesAllocated } from './lib/allocation.js';
import { LeanBuilding } from './lean/lean-building.js';
import { leanTopology } from './lean/topology.js';
import { checkLeanEquivalence } from './lean/check.js';
import { agedFleetFigure } from './lib/aged-fleet.js';
import { wideParentFigure } from './lib/wide-parent.js';
import { wildcardChurnFigure } from './lib/wildcard-churn.js';

const KINDS = ['climate', 'occupancy', 'fire', 'gasbio'] as const;

/** 2 sites × 10 buildings × 10 floors × 5 units × 10 rooms × 4 sensors = 40 000 sensors. */
export function fleetSensors(quick: boolean): string[] {
  const out: string[] = [];
  const floors = quick ? 5 : 10;
  for (let s = 0; s < 2; s++)
    for (let b = 0; b < 10; b++)
      for (let f = 0; f < floors; f++)
        for (let u = 0; u < 5; u++)
          for (let r = 0; r < 10; r++)
            for (const k of KINDS)
              out.push(`/org/bench/site/s${s}/building/b${b}/floor/${f}/unit/u${u}/room/${r}/sensors/${k}`);
  return out;
}

/** A random reading of a sensor of `kind` (the last segment of its path). */
function reading(kind: string, rnd: () => number): unknown {
  switch (kind) {
    case 'climate':
      return { temperature: 18 + rnd() * 6, humidity: 30 + rnd() * 30, co2: 400 + rnd() * 600 };
    case 'occupancy':
      return { occupied: rnd() < 0.5, count: Math.floor(rnd() * 4) };
    case 'fire':
      return { alarm: rnd() < 0.001, smoke: rnd() * 0.1 };
    default:
      return { alarm: rnd() < 0.001, level: rnd() * 0.1 };
  }
}

/** Random readings over the fleet, generated up front so only the runtime is timed. */
export function randomEvents(sensors: string[], count: number, seed: number): EventInput[] {
  const rnd = seeded(seed);
  const out: EventInput[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const subject = sensors[Math.floor(rnd() * sensors.length)]!;
    out[i] = {
      subject,
      id: String(i),
      source: 'bench',
      time: 1_700_000_000_000 + i,
      data: reading(subject.slice(subject.lastIndexOf('/') + 1), rnd),
    };
  }
  return out;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * One reading per sensor, so every twin is active before timing (ids `<tag><i>`, `w<i>` by
 * default); `round` seeds another set of readings for the same sensors.
 */
export function warmEvents(sensors: string[], tag = 'w', round = 0): EventInput[] {
  return sensors.map((subject, i) => ({
    subject,
    id: `${tag}${i}`,
    source: 'bench',
    data: reading(subject.slice(subject.lastIndexOf('/') + 1), seeded(i + round * sensors.length)),
  }));
}

/** `runs` timed passes of `events` through `rt` in feed batches of `step`, fresh ids each pass (`<tag><pass>:<i>`). */
async function timedPasses(rt: Runtime, events: EventInput[], runs: number, tag = '', step = 5000): Promise<number[]> {
  let pass = 0;
  return repeat(runs, async () => {
    // Fresh ids each pass: replaying the same source+id would be deduplicated (no work).
    pass++;
    for (let i = 0; i < events.length; i++) events[i]!.id = `${tag}${pass}:${i}`;
    const t0 = process.hrtime.bigint();
    await feed(rt, events, step);
    return perSecond(events.length, process.hrtime.bigint() - t0);
  });
}

/**
 * Events per step of a lightly loaded node (a handful of readings arrive per tick), where
 * parents' join turns coalesce little: the same fleet and readings in steps of 50.
 */
const SMALL_STEP = 50;

/**
 * The core figure alone (core's "events/s, building model"): the same fleet, warm-up and
 * timed passes in a fresh runtime on `MemoryStateStore`. Other scenarios divide by it in
 * their own process and run (replay: "replay in memory ÷ core events/s").
 */
export async function coreEventsPerSecond(ctx: BenchContext): Promise<number[]> {
  const sensors = fleetSensors(ctx.quick);
  const events = randomEvents(sensors, ctx.quick ? 100_000 : 400_000, 7);
  const rt = createRuntime({
    models: buildingModels(),
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
  });
  await feed(rt, warmEvents(sensors), 5000);
  await rt.settle();
  gc();
  const rates = await timedPasses(rt, events, ctx.runs, 'c');
  await rt.close();
  return rates;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const sensors = fleetSensors(ctx.quick);
  const count = ctx.quick ? 100_000 : 400_000;
  const events = randomEvents(sensors, count, 7);
  const warm = warmEvents(sensors);

  gc();
  const rssBefore = process.memoryUsage().rss;
  const rt = createRuntime({
    models: buildingModels(),
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
  });
  await feed(rt, warm, 5000); // every twin active before timing
  await rt.settle();
  gc();
  // RSS includes the in-memory store's copy of the state, so it is an upper bound per twin.
  const rssPerTwin = (process.memoryUsage().rss - rssBefore) / rt.stats().activeTwins;

  const ours = await timedPasses(rt, events, ctx.runs);
  const smallSteps = events.slice(0, events.length / 4);
  const oursSmall = await timedPasses(rt, smallSteps, ctx.runs, 's', SMALL_STEP);
  // Bytes allocated per event: one more pass, untimed (the timed passes, warm-up included, took 1…runs + 1).
  const pass = ctx.runs + 2;
  for (let i = 0; i < events.length; i++) events[i]!.id = `${pass}:${i}`;
  const allocated = (await bytesAllocated(() => feed(rt, events, 5000))) / events.length;

  // Heap held by live twins: all active, minus the same runtime with every twin stopped
  // (state then lives only in the store), so the store and caches are not counted.
  await rt.settle();
  gc();
  const heapActive = process.memoryUsage().heapUsed;
  const twins = rt.stats().activeTwins;
  const paths = rt.activePaths();
  await Promise.all(paths.map((p) => rt.stop(p)));
  await rt.settle();
  gc();
  const heapPerTwin = (heapActive - process.memoryUsage().heapUsed) / twins;
  await rt.close();

  // Yardstick: the lean loop over the same warm-up and passes (the same ids), in steps of
  // the same 5,000 events a feed batch has, on the wall clock.
  const topo = leanTopology(sensors);
  let lean: LeanBuilding | null = new LeanBuilding(topo);
  lean.run(warm, 5000, Date.now);
  let leanPass = 0;
  const leanRates = await repeat(ctx.runs, () => {
    leanPass++;
    for (let i = 0; i < events.length; i++) events[i]!.id = `${leanPass}:${i}`;
    const t0 = process.hrtime.bigint();
    lean!.run(events, 5000, Date.now);
    return perSecond(events.length, process.hrtime.bigint() - t0);
  });
  leanPass++;
  for (let i = 0; i < events.length; i++) events[i]!.id = `${leanPass}:${i}`;
  const leanAllocated = (await bytesAllocated(() => lean!.run(events, 5000, Date.now))) / events.length;
  if (lean.events !== warm.length + leanPass * events.length || lean.duplicates + lean.rejected !== 0)
    throw new Error(`core: the lean loop did not take every event (${lean.events}, ${lean.duplicates} dup.)`);
  lean = null;
  gc();
  const leanSmall = new LeanBuilding(topo);
  leanSmall.run(warm, 5000, Date.now);
  let smallPass = 0;
  const leanSmallRates = await repeat(ctx.runs, () => {
    smallPass++;
    for (let i = 0; i < smallSteps.length; i++) smallSteps[i]!.id = `s${smallPass}:${i}`;
    const t0 = process.hrtime.bigint();
    leanSmall.run(smallSteps, SMALL_STEP, Date.now);
    return perSecond(smallSteps.length, process.hrtime.bigint() - t0);
  });
  gc();
  // Not a strawman: the lean loop ends in the runtime's state after the same events in the same steps.
  const check = await checkLeanEquivalence(sensors, [warm, events], 5000);

  // Baseline: the same keys and readings into a plain Map of plain objects.
  const baseline = await repeat(ctx.runs, () => {
    const map = new Map<string, { latest: unknown; lastSeen: number; status: string }>();
    for (const s of sensors) map.set(s, { latest: null, lastSeen: 0, status: 'ok' });
    const t0 = process.hrtime.bigint();
    for (const e of events) {
      const twin = map.get(e.subject)!;
      twin.latest = e.data;
      twin.lastSeen = e.time as number;
      twin.status = (e.data as { alarm?: boolean }).alarm ? 'alarm' : 'ok';
    }
    return perSecond(events.length, process.hrtime.bigint() - t0);
  });

  gc();
  const aged = await agedFleetFigure(ctx, sensors);
  gc();
  const wide = await wideParentFigure(ctx);
  gc();
  const churn = await wildcardChurnFigure(ctx);

  return [
    {
      scenario: 'core',
      figure: `events/s, building model, ${sensors.length / 1000}k sensors`,
      unit: 'ev/s',
      ours,
      baseline: leanRates,
      baselineName: 'lean loop, same events (bench/lean)',
      target: { ratio: 0.33, cmp: '>=' },
      note: `lean loop = runtime after the same ${check.events} events in ${check.steps} steps: ${check.twins} twins read back, every lane equal, derived events ${check.derived}`,
    },
    {
      scenario: 'core',
      figure: `events/s, building model, ${sensors.length / 1000}k sensors`,
      unit: 'ev/s',
      ours,
      baseline,
      baselineName: 'Map get+update',
    },
    {
      scenario: 'core',
      figure: `events/s, steps of ${SMALL_STEP} events (a lightly loaded node)`,
      unit: 'ev/s',
      ours: oursSmall,
      baseline: leanSmallRates,
      baselineName: `lean loop, same events in steps of ${SMALL_STEP}`,
      note: `${smallSteps.length} events per pass; parents' join turns coalesce little in small steps (bench/README, session 9)`,
    },
    {
      scenario: 'core',
      figure: 'bytes allocated per event',
      unit: 'B',
      ours: [allocated],
      baseline: [leanAllocated],
      baselineName: 'lean loop',
      target: { value: 500, cmp: '<=' },
    },
    {
      scenario: 'core',
      figure: `heap per active twin (${twins} twins)`,
      unit: 'B',
      ours: [heapPerTwin],
      target: { value: 1024, cmp: '<=' },
    },
    { scenario: 'core', figure: `RSS per active twin, store included (${twins} twins)`, unit: 'B', ours: [rssPerTwin] },
    aged,
    wide,
    churn,
  ];
}
