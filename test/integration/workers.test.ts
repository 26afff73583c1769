import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import {
  createRuntime,
  shardKeyUpTo,
  SimulatedClock,
  TwinError,
  type EventInput,
  type Runtime,
  type ShardKeyFn,
} from '../../src/index.js';
import { stateDigest } from '../../src/recording/digest.js';
import type { WorkerShardHost } from '../../src/hosting/worker-host.js';
import { seeded } from '../support/fleet.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });
const KINDS = ['climate', 'occupancy', 'fire', 'gasbio'];

/** A seeded workload over 2 sites × 3 buildings × 2 floors × 2 units × 2 rooms × 4 sensors, in time steps. */
function workload(seed: number, steps: number, perStep: number): EventInput[][] {
  const rnd = seeded(seed);
  const out: EventInput[][] = [];
  for (let s = 0; s < steps; s++) {
    const batch: EventInput[] = [];
    for (let i = 0; i < perStep; i++) {
      const path = `/org/o/site/s${Math.floor(rnd() * 2)}/building/b${Math.floor(rnd() * 3)}/floor/${Math.floor(rnd() * 2)}/unit/u${Math.floor(rnd() * 2)}/room/${Math.floor(rnd() * 2)}/sensors/${KINDS[Math.floor(rnd() * 4)]}`;
      const kind = path.slice(path.lastIndexOf('/') + 1);
      const data =
        kind === 'climate'
          ? { temperature: Math.round((16 + rnd() * 10) * 100) / 100, humidity: 40 }
          : kind === 'occupancy'
            ? { occupied: rnd() < 0.5 }
            : { alarm: rnd() < 0.05 };
      batch.push({ subject: path, id: `${s}-${i}`, source: 'gen', time: T0 + s * 60_000, data });
    }
    out.push(batch);
  }
  return out;
}

async function run(
  workers: number,
  steps: EventInput[][],
  dataDir?: string,
  shardKey?: ShardKeyFn,
): Promise<{ digest: string; twins: number; outputs: string[] }> {
  const clock = new SimulatedClock(T0);
  const rt: Runtime = createRuntime({
    models: buildingModels(),
    logger: silent,
    clock,
    shardKey,
    workers: workers > 0 ? { count: workers, models: buildingModelSource(), dataDir } : undefined,
  });
  const outputs: string[] = [];
  rt.onOutput((e) => outputs.push(`${e.subject} ${e.type} ${e.time}`));
  for (const [i, batch] of steps.entries()) {
    clock.advanceTo(T0 + i * 60_000);
    await rt.ingest(batch);
    await rt.settle(); // the step rule: virtual time moves on once every shard finished
  }
  clock.advance(15 * 60_000); // sensors go offline
  await rt.settle();
  const { digest, twins } = await stateDigest(rt);
  await rt.close();
  return { digest, twins, outputs };
}

/** Derived events grouped per emitting twin (their order across twins is not defined). */
function perTwin(outputs: string[]): Record<string, string[]> {
  const by: Record<string, string[]> = {};
  for (const o of outputs) (by[o.split(' ')[0]!] ??= []).push(o);
  return by;
}

describe('worker threads', () => {
  it('give the same state digest and the same derived events per twin at 0, 1, 2 and 4 workers', async () => {
    const steps = workload(11, 12, 120);
    const results = [];
    for (const workers of [0, 1, 2, 4]) results.push(await run(workers, steps));
    const [base, ...others] = results;
    expect(base!.twins).toBeGreaterThan(150);
    expect(base!.outputs.length).toBeGreaterThan(0);
    for (const r of others) {
      expect(r.twins).toBe(base!.twins);
      expect(r.digest).toBe(base!.digest);
      expect(perTwin(r.outputs)).toEqual(perTwin(base!.outputs));
    }
  }, 120_000);

  it('place twins by the runtime-wide shardKey option on the workers too (shardKeyUpTo)', async () => {
    const steps = workload(5, 6, 120);
    const base = await run(0, steps);
    const byFloor = await run(2, steps, undefined, shardKeyUpTo('floor'));
    expect(byFloor.digest).toBe(base.digest);
    expect(perTwin(byFloor.outputs)).toEqual(perTwin(base.outputs));
  }, 60_000);

  it('refuse a shardKey function that cannot reach the workers, with a clear error', () => {
    const custom: ShardKeyFn = (p) => p.text.slice(0, 20);
    let error: unknown;
    try {
      createRuntime({
        models: buildingModels(),
        logger: silent,
        shardKey: custom,
        workers: { count: 2, models: buildingModelSource() },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TwinError);
    expect((error as TwinError).code).toBe('TWIN_CONFIG_INVALID');
    expect((error as TwinError).message).toMatch(/shardKeyUpTo/);
  });

  it('apply a live ingest call larger than one post to a worker in order, before a call made after it', async () => {
    // 5,000 events for one worker go out in parts while the call is routed (EARLY_POST in
    // worker-host.ts); the parts and a second call in the same tick keep their order.
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      workers: { count: 1, models: buildingModelSource() },
    });
    const room = '/org/o/site/s/building/b/floor/1/unit/u/room/1';
    const reading = (i: number): EventInput => ({
      subject: `${room}/sensors/${i % 2 ? 'climate' : 'occupancy'}`,
      id: `r${i}`,
      source: 'order',
      data: i % 2 ? { temperature: 10 + i / 1000, humidity: 40 } : { occupied: i % 4 === 0 },
    });
    const first = rt.ingest(Array.from({ length: 5000 }, (_, i) => reading(i)));
    const last = rt.ingest({
      subject: `${room}/sensors/climate`,
      id: 'after',
      source: 'order',
      data: { temperature: 30, humidity: 40 },
    });
    const [report] = await Promise.all([first, last]);
    expect(report.accepted).toBe(5000);
    expect(await rt.get(`${room}/sensors/climate`, 'latest')).toEqual({ temperature: 30, humidity: 40 });
    expect(await rt.get(`${room}/sensors/occupancy`, 'latest')).toEqual(reading(4998).data);
    await rt.settle();
    expect(await rt.get(room, 'temperature')).toBe(30);
    expect(await rt.get(room, 'occupied')).toBe(false); // reading 4998: 4998 % 4 = 2
    await rt.close();
  }, 60_000);

  it('fail only the event that cannot cross to a worker; the batch around it and later ones go on', async () => {
    // Deeper than structured cloning takes, allowed by a raised payload bound: the post of
    // the batch's columns throws, the batch goes again message by message, and the post
    // after it starts the worker's string table over (event-columns.ts).
    const logged: string[] = [];
    const rt = createRuntime({
      models: buildingModels(),
      logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(line) }),
      maxPayloadDepth: 200_000,
      workers: { count: 1, models: buildingModelSource() },
    });
    let deep: unknown = { temperature: 1, humidity: 1 };
    for (let i = 0; i < 100_000; i++) deep = { deep };
    const climate = (room: number) => `/org/o/site/s/building/b/floor/1/unit/u/room/${room}/sensors/climate`;
    const ok = (room: number, t: number): EventInput => ({
      subject: climate(room),
      id: `ok${room}-${t}`,
      data: { temperature: t, humidity: 40 },
    });
    const report = await rt.ingest([ok(1, 21), { subject: climate(2), id: 'deep', data: deep }, ok(3, 23)]);
    expect(report.accepted).toBe(2);
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]).toMatchObject({ index: 1, error: { code: 'TWIN_EVENT_INVALID' } });
    expect(report.rejected[0]!.error.message).toMatch(/cannot be passed to a shard worker/);
    expect(await rt.get(climate(1), 'latest')).toEqual({ temperature: 21, humidity: 40 });
    expect(await rt.get(climate(3), 'latest')).toEqual({ temperature: 23, humidity: 40 });
    // Subjects the lost post named and new ones: the worker reads each event's own subject.
    const later = await rt.ingest([ok(3, 33), ok(4, 34), ok(2, 32), ok(1, 31)]);
    expect(later.accepted).toBe(4);
    for (const room of [1, 2, 3, 4])
      expect(await rt.get(climate(room), 'latest')).toEqual({ temperature: 30 + room, humidity: 40 });
    // All of it without the worker failing (a restart would resend and hide a wrong table).
    expect(logged.map((l) => JSON.parse(l).msg)).toEqual(['message to a shard worker could not be cloned; refused']);
    await rt.close();
  }, 60_000);

  it('lose nothing acknowledged when a worker thread dies under load', async () => {
    const dir = tempDir();
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      workers: { count: 2, models: buildingModelSource(), dataDir: dir },
    });
    const host = (rt as unknown as { host: WorkerShardHost }).host;
    const N = 4000;
    const event = (i: number): EventInput => ({
      subject: `/org/o/site/s/building/b${i % 8}/floor/1/unit/u/room/${i}/sensors/climate`,
      id: `k${i}`,
      source: 'load',
      data: { temperature: 15 + (i % 100) / 10, humidity: 40 },
    });
    const acked: number[] = [];
    const batches: Promise<void>[] = [];
    for (let i = 0; i < N; i += 200) {
      const ids = Array.from({ length: 200 }, (_, j) => i + j);
      batches.push(
        rt.ingest(ids.map(event)).then((r) => {
          const bad = new Set(r.rejected.map((x) => x.index));
          ids.forEach((id, k) => {
            if (!bad.has(k)) acked.push(id);
          });
        }),
      );
      if (i === N / 2) await host.crashWorker(0); // dies with work in flight
    }
    await Promise.all(batches);
    await rt.settle();
    expect(acked).toHaveLength(N);
    for (let i = 0; i < N; i += 37) {
      expect(await rt.get(event(i).subject, 'latest')).toEqual(event(i).data);
    }
    await rt.close();
  }, 60_000);
});
