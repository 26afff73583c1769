/**
 * Cluster mode with worker threads (the default: one per core): vshard v runs on worker
 * v % workers, each worker with its own NATS connection, state logs and input consumers,
 * acting only while the main thread's lease is valid (shared memory). A worker killed
 * under load is restarted and its vshards start again there from their logs: every
 * acknowledged event is applied exactly once. Real worker threads, a real nats-server.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerShardHost } from '../../src/hosting/worker-host.js';
import { createRuntime, type EventInput, type Runtime } from '../../src/index.js';
import { modelSet } from '../support/counter-models.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';

const COUNTERS = 12;
let n = 0;
const batch = (size: number): EventInput[] =>
  Array.from({ length: size }, () => {
    const id = `e${++n}`;
    return { id, source: 'test', type: 'tick', subject: `/group/g/counter/${n % COUNTERS}`, data: {} };
  });

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close().catch(() => undefined);
});

/** Every counter's applications per event id, read through the runtime. */
async function applied(rt: Runtime): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let k = 0; k < COUNTERS; k++) {
    const snapshot = await rt.read(`/group/g/counter/${k}`, ['applied']);
    for (const [id, times] of Object.entries(snapshot.lanes.applied as Record<string, number>)) out.set(id, times);
  }
  return out;
}

async function untilApplied(rt: Runtime, ids: readonly string[]): Promise<Map<string, number>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = await applied(rt).catch(() => new Map<string, number>());
    if (ids.every((id) => seen.has(id))) return seen;
    if (Date.now() > deadline)
      throw new Error(`not applied within 30 s: ${ids.filter((id) => !seen.has(id)).length} of ${ids.length}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!hasNatsServer)('cluster mode on worker threads (one node, a nats-server)', () => {
  it('runs each vshard on worker v % 2, applies every acknowledged event once, and through a worker kill', async () => {
    const nats = await natsCluster(1);
    const rt = createRuntime({
      modelSet,
      logger: pino({ level: 'silent' }),
      workers: { count: 2 },
      cluster: { servers: nats.urls(), nodeId: 'w', vshards: 8, leaseMs: 3_000 },
    });
    runtimes.push(rt);
    await rt.ready();
    const cluster = rt.cluster!;
    const deadline = Date.now() + 20_000;
    while (cluster.owned().length < 8) {
      if (Date.now() > deadline) throw new Error(`owns ${cluster.owned().length} of 8 vshards`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const acked: string[] = [];
    const send = async (size: number): Promise<void> => {
      const events = batch(size);
      const report = await rt.ingest(events);
      expect(report.rejected).toEqual([]);
      acked.push(...events.map((e) => e.id!));
    };
    for (let i = 0; i < 10; i++) await send(20);
    await untilApplied(rt, acked);
    // A batch too large for one message (120 events of ~10 KB to one twin: past NATS's 1 MiB) goes as several.
    const big = Array.from({ length: 120 }, () => {
      const id = `e${++n}`;
      return { id, source: 'test', type: 'tick', subject: '/group/g/counter/0', data: { pad: 'x'.repeat(10_000) } };
    });
    expect((await rt.ingest(big)).rejected).toEqual([]);
    acked.push(...big.map((e) => e.id));
    await untilApplied(rt, acked);

    // The workers' counters reach the main thread with no request to carry them (nothing
    // they apply was sent by it): the events ingested now, never read, are counted.
    for (let i = 0; i < 5; i++) await send(20);
    await expect.poll(() => rt.stats().events, { timeout: 10_000 }).toBeGreaterThanOrEqual(acked.length);
    await untilApplied(rt, acked);
    // The twins live in the worker threads (the main thread's host is the worker host).
    const workers = (cluster as unknown as { inner: WorkerShardHost }).inner;
    await workers.settle();
    expect(workers.activePaths().sort()).toEqual(
      Array.from({ length: COUNTERS }, (_, k) => `/group/g/counter/${k}`).sort(),
    );

    // A worker dies with input in flight; it is restarted and its vshards start again.
    const load = (async () => {
      for (let i = 0; i < 10; i++) await send(20);
    })();
    await workers.crashWorker(0);
    await load;
    const seen = await untilApplied(rt, acked);
    expect([...seen].filter(([, times]) => times !== 1)).toEqual([]);
    expect(seen.size).toBe(acked.length);
  }, 90_000);
});
