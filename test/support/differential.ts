import { pino } from 'pino';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import {
  createRuntime,
  SimulatedClock,
  type EventInput,
  type Runtime,
  type RuntimeOptions,
  type ShardKeyFn,
  type TwinModel,
} from '../../src/index.js';
import type { ModelSource } from '../../src/hosting/worker-protocol.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { canonicalJson, stateDigest } from '../../src/recording/digest.js';
import { seeded, SENSOR_KINDS } from './fleet.js';
import { T0 } from './runtime.js';
import { tempDir } from './tmp.js';

/**
 * Differential runs of the building model: one scenario (steps of ingests, commands,
 * stops and clock advances) on several runtime configurations, whose observable results
 * the docs promise to be equal (docs/replay.md "The step rule").
 */
export type Op =
  | { k: 'ingest'; events: EventInput[] }
  | { k: 'command'; path: string; lane: string; value: unknown }
  | { k: 'stop'; path: string };

/** One step: the clock moves by `advance` ms (timers fire), then the ops run one after the other. */
export interface Step {
  advance: number;
  ops: Op[];
}

export interface Variant {
  name: string;
  workers?: number;
  shardKey?: ShardKeyFn;
  passivation?: RuntimeOptions['passivation'];
  /** LMDB in a temp dir (0 workers: `store`; workers: `dataDir`); otherwise memory. */
  lmdb?: boolean;
}

export interface Outcome {
  digest: string;
  twins: number;
  /** Derived events per emitting twin, in emission order. */
  outputs: Record<string, string[]>;
  /** What each op answered, in order. */
  results: string[];
  /** Each twin's lanes (canonical JSON) by path: says which twin differs when the digest does. */
  state: Record<string, string>;
  /** Redeliveries acknowledged without effect (the per-twin dedupe window). */
  duplicates: number;
  /** The messages of the warnings the runtime logged (from worker threads too). */
  warnings: string[];
}

const MIN = 60_000;

/** Every path of the fleet at every level, org first, sensors last. */
export function fleetLevels(buildings: number): { sensors: string[]; units: string[]; all: string[] } {
  const levels: string[][] = [['/org/o'], [], [], [], [], [], []];
  for (let s = 0; s < 2; s++) {
    const site = `/org/o/site/s${s}`;
    levels[1]!.push(site);
    for (let b = 0; b < buildings; b++) {
      const bld = `${site}/building/b${b}`;
      levels[2]!.push(bld);
      for (let f = 0; f < 2; f++) {
        const floor = `${bld}/floor/${f}`;
        levels[3]!.push(floor);
        for (let u = 0; u < 2; u++) {
          const unit = `${floor}/unit/u${u}`;
          levels[4]!.push(unit);
          for (let r = 0; r < 2; r++) {
            const room = `${unit}/room/${r}`;
            levels[5]!.push(room);
            for (const kind of SENSOR_KINDS) levels[6]!.push(`${room}/sensors/${kind}`);
          }
        }
      }
    }
  }
  return { sensors: levels[6]!, units: levels[4]!, all: levels.flat() };
}

/**
 * A seeded random scenario over 2 sites × `buildings` × 2 floors × 2 units × 2 rooms × 4
 * sensors: per step a clock advance, then about `perStep` inputs in order: readings (some
 * malformed, some unroutable) in ingest batches, redeliveries, `secure` commands (some
 * invalid) and stops of twins at any level.
 */
export function scenario(seed: number, steps: number, perStep: number, buildings = 2): Step[] {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const fleet = fleetLevels(buildings);
  const sent: EventInput[] = [];
  const out: Step[] = [];
  let now = T0;
  for (let s = 0; s < steps; s++) {
    // Mostly a minute; sometimes long enough for sensors to go offline.
    const advance = rnd() < 0.2 ? Math.floor((11 + rnd() * 60) * MIN) : Math.floor((0.5 + rnd()) * MIN);
    now += advance;
    const ops: Op[] = [];
    let batch: EventInput[] = [];
    const flush = (): void => {
      if (batch.length > 0) ops.push({ k: 'ingest', events: batch });
      batch = [];
    };
    for (let i = 0; i < perStep; i++) {
      const r = rnd();
      if (r < 0.06) {
        flush();
        const target = rnd() < 0.9 ? pick(fleet.units) : pick(fleet.all);
        const lane = rnd() < 0.9 ? 'secure' : 'securedd';
        ops.push({
          k: 'command',
          path: target,
          lane,
          value: rnd() < 0.8 ? rnd() < 0.5 : pick(['yes', 1, null, { on: true }]),
        });
      } else if (r < 0.1) {
        flush();
        ops.push({ k: 'stop', path: pick(fleet.all) });
      } else if (r < 0.16 && sent.length > 0) {
        batch.push(pick(sent)); // redelivery: same source and id (and data)
      } else {
        const subject =
          rnd() < 0.01 ? pick(['/nowhere/at/all', '/org/o/site', '//', '/org/o/site/s0/bogus/x']) : pick(fleet.sensors);
        const kind = subject.slice(subject.lastIndexOf('/') + 1);
        const event: EventInput = {
          subject,
          id: `${s}-${i}`,
          source: rnd() < 0.8 ? 'gen' : 'alt',
          data: reading(kind, rnd),
        };
        if (rnd() < 0.5) event.time = now - Math.floor(rnd() * 30_000);
        batch.push(event);
        sent.push(event);
      }
    }
    flush();
    out.push({ advance, ops });
  }
  return out;
}

function reading(kind: string, rnd: () => number): unknown {
  const bad = rnd() < 0.07;
  switch (kind) {
    case 'climate':
      // Unrounded floats: aggregates summed in another order would round differently.
      if (bad)
        return [
          { temperature: 'hot', humidity: 40 },
          { humidity: 40 },
          { temperature: 21, humidity: 40, co2: 'x' },
          null,
          [1],
        ][Math.floor(rnd() * 5)];
      return { temperature: 14 + rnd() * 14, humidity: 30 + rnd() * 30 };
    case 'occupancy':
      if (bad) return [{ occupied: 'yes' }, { occupied: true, count: 'many' }, 'occupied'][Math.floor(rnd() * 3)];
      return { occupied: rnd() < 0.5, count: Math.floor(rnd() * 4) };
    default:
      if (bad) return [{ alarm: 1 }, {}, { alarm: true, smoke: Infinity }][Math.floor(rnd() * 3)];
      return { alarm: rnd() < 0.03, ...(rnd() < 0.3 ? { smoke: rnd() } : {}) };
  }
}

/** The models a scenario runs on: built here, and imported by shard workers from `source`. */
export interface ScenarioModels {
  build(): TwinModel<any>[];
  source(): ModelSource;
}

const BUILDING: ScenarioModels = { build: () => buildingModels(), source: () => buildingModelSource() };

/** Runs a scenario under one variant, following the step rule (everything settles before the clock moves). */
export async function runScenario(
  steps: readonly Step[],
  v: Variant,
  models: ScenarioModels = BUILDING,
): Promise<Outcome> {
  const clock = new SimulatedClock(T0);
  const workers = v.workers ?? 0;
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) });
  const rt: Runtime = createRuntime({
    models: models.build(),
    logger,
    clock,
    shardKey: v.shardKey,
    passivation: v.passivation,
    store: v.lmdb && workers === 0 ? LmdbStateStore.open({ path: tempDir() }) : undefined,
    workers:
      workers > 0 ? { count: workers, models: models.source(), dataDir: v.lmdb ? tempDir() : undefined } : undefined,
  });
  const outputs: Record<string, string[]> = {};
  rt.onOutput((e) =>
    (outputs[e.source] ??= []).push(`${e.id} ${e.type} ${e.subject} ${e.time} ${JSON.stringify(e.data)}`),
  );
  const results: string[] = [];
  try {
    for (const [s, step] of steps.entries()) {
      clock.advance(step.advance);
      await rt.settle();
      for (const op of step.ops) {
        results.push(`${s} ${op.k} ${await apply(rt, op)}`);
        await rt.settle();
      }
    }
    clock.advance(15 * MIN); // everything still reporting goes offline
    await rt.settle();
    const { digest, twins } = await stateDigest(rt);
    const state: Record<string, string> = {};
    for (const { path } of await rt.listTwins('/**')) state[path] = canonicalJson((await rt.read(path)).lanes);
    return { digest, twins, outputs, results, state, duplicates: rt.stats().duplicates, warnings };
  } finally {
    await rt.close();
  }
}

async function apply(rt: Runtime, op: Op): Promise<string> {
  try {
    switch (op.k) {
      case 'ingest': {
        const r = await rt.ingest(op.events);
        return `accepted ${r.accepted} rejected ${r.rejected.map((x) => `${x.index}:${x.error.code}:${x.error.message}`).join(' ')}`;
      }
      case 'command':
        await rt.command(op.path, op.lane, op.value);
        return 'ok';
      case 'stop':
        await rt.stop(op.path);
        return 'ok';
    }
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return `error ${e.code}: ${e.message}`;
  }
}
