/**
 * shards: events/s with the building model at 0, 1, 2 (and the core count) shard
 * workers in one run, the scaling ratio against one worker, and the transport choice:
 * batched postMessage vs a SharedArrayBuffer ring of msgpack records.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { buildingModels, buildingModelSource } from '../models/index.js';
import { createRuntime, type EventInput } from '../src/index.js';
import { fleetSensors, randomEvents } from './core.js';
import { perSecond, repeat, type BenchContext, type Figure } from './lib/harness.js';
import { postMessageRate, sharedRingRate } from './lib/transport.js';
import { feed } from './lib/feed.js';

async function eventsPerSecond(
  workers: number,
  sensors: string[],
  events: EventInput[],
  runs: number,
): Promise<number[]> {
  const rt = createRuntime({
    models: buildingModels(),
    logger: pino({ level: 'silent' }),
    workers: workers > 0 ? { count: workers, models: buildingModelSource() } : undefined,
  });
  await feed(
    rt,
    sensors.map((subject, i) => ({
      subject,
      id: `w${i}`,
      source: 'bench',
      data: events[i % events.length]!.subject === subject ? events[i]!.data : warmReading(subject),
    })),
  );
  let pass = 0;
  const rates = await repeat(runs, async () => {
    pass++;
    for (let i = 0; i < events.length; i++) events[i]!.id = `${workers}:${pass}:${i}`;
    const t0 = process.hrtime.bigint();
    await feed(rt, events);
    return perSecond(events.length, process.hrtime.bigint() - t0);
  });
  await rt.close();
  return rates;
}

function warmReading(subject: string): unknown {
  const kind = subject.slice(subject.lastIndexOf('/') + 1);
  return kind === 'climate'
    ? { temperature: 20, humidity: 40 }
    : kind === 'occupancy'
      ? { occupied: false }
      : { alarm: false };
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const sensors = fleetSensors(ctx.quick);
  const events = randomEvents(sensors, ctx.quick ? 60_000 : 200_000, 5);
  const cores = availableParallelism();
  const counts = [...new Set([0, 1, 2, cores])];
  const runs = ctx.quick ? 2 : 3;
  const rates = new Map<number, number[]>();
  for (const n of counts) rates.set(n, await eventsPerSecond(n, sensors, events, runs));
  const figures: Figure[] = [];
  for (const n of counts) {
    figures.push({
      scenario: 'shards',
      figure: `events/s, ${n} workers${n === 0 ? ' (main thread)' : ''}`,
      unit: 'ev/s',
      ours: rates.get(n)!,
      ...(n > 1
        ? {
            baseline: rates.get(1)!,
            baselineName: '1 worker',
            target: cores >= 3 && n === 2 ? { ratio: 1.5, cmp: '>=' as const } : undefined,
          }
        : {}),
      note:
        n === 2 && cores < 3 ? `only ${cores} cores: the target (2 workers >= 1.5x) applies from 3 cores` : undefined,
    });
  }
  // Transport: the same event objects through both channels.
  const sample = events
    .slice(0, ctx.quick ? 100_000 : 400_000)
    .map((e) => ({ subject: e.subject, id: e.id, source: e.source, time: e.time, data: e.data }));
  const msgpackr = createRequire(import.meta.url).resolve('msgpackr');
  const post = await repeat(runs, () => postMessageRate(sample, 1000), false);
  const ring = await repeat(runs, () => sharedRingRate(sample, msgpackr), false);
  figures.push({
    scenario: 'shards',
    figure: 'transport: postMessage, batches of 1000',
    unit: 'ev/s',
    ours: post,
    baseline: ring,
    baselineName: 'SAB ring + msgpack',
  });
  return figures;
}
