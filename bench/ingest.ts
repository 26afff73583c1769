/**
 * ingest: devices in, through the whole path (broker → decode → twin turn → group commit →
 * PUBACK), beside raw mosquitto pub→sub with the same mqtt.js client and payloads:
 * - QoS 0 and QoS 1 events/s: embedded broker (aedes in-process) and external mode
 *   (runtime subscribed to mosquitto), against mosquitto pub→sub rate at the same QoS;
 * - publish-to-lane-update latency p50/p99 (one reading at a time, timed until a link on
 *   the sensor's `latest` lane sees it);
 * - HTTP batch ingest (`application/cloudevents-batch+json`, 1000 per request, 4 in
 *   flight) beside in-process `Runtime.ingest` of the same events.
 * - the same at the default flags (a worker per core, LMDB strict in a temp dir, the
 *   embedded broker), beside the in-memory, one-shard figures of the same run.
 * Publishers run on their own thread (lib/mqtt-load.ts, lib/http-load-worker.ts), as devices
 * are other machines. mosquitto runs with max_queued_messages raised (its default 1000
 * drops QoS 1 under load). Apart from the default-flag rows, state is in memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { buildingModelSource, buildingModels } from '../models/index.js';
import { MemoryStateStore, startNode, type EventInput, type NodeOptions, type TwinflowNode } from '../src/index.js';
import { hasMosquitto, startMosquitto, type Mosquitto } from '../test/support/mqtt.js';
import { MqttLoad, publishMany, SENSORS, TOPICS } from './lib/mqtt-load.js';
import { hasNatsServer, startNatsMqtt } from './lib/nats.js';
import { perSecond, repeat, type BenchContext, type Figure } from './lib/harness.js';

const silent = pino({ level: 'silent' });

function until(pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => (pred() ? resolve() : void setTimeout(tick, 2));
    tick();
  });
}

/**
 * Raw broker rate: a publisher on its own thread ({@link MqttLoad}), one mqtt.js subscriber
 * on this one, same payloads and QoS.
 */
async function rawRate(url: string, qos: 0 | 1, n: number): Promise<number> {
  const sub = await connectAsync(url, { clean: true });
  const load = await MqttLoad.open(url);
  try {
    let got = 0;
    sub.on('message', () => void got++);
    await sub.subscribeAsync('raw/#', { qos });
    const t0 = process.hrtime.bigint();
    await load.publish(n, qos, 'raw/');
    await until(() => got >= n);
    return perSecond(n, process.hrtime.bigint() - t0);
  } finally {
    await Promise.all([sub.endAsync(), load.close()]);
  }
}

async function node(options: Partial<NodeOptions>): Promise<TwinflowNode> {
  return startNode({ models: buildingModels(), port: 0, logger: silent, store: new MemoryStateStore(), ...options });
}

/**
 * Through the whole path: `count` readings published from another thread (devices are
 * other machines), done when all are committed.
 */
export async function oursRate(
  n: TwinflowNode,
  brokerUrl: string,
  qos: 0 | 1,
  count: number,
  connect: { username?: string; password?: string } = {},
): Promise<number> {
  const load = await MqttLoad.open(brokerUrl, connect);
  try {
    const q = n.ingestion.queue;
    const target = q.committed + q.rejected + count;
    const t0 = process.hrtime.bigint();
    await load.publish(count, qos);
    await until(() => q.committed + q.rejected >= target);
    return perSecond(count, process.hrtime.bigint() - t0);
  } finally {
    await load.close();
  }
}

/** Sequential publish → lane update latencies (ms) at QoS `qos`. */
async function latencies(n: TwinflowNode, qos: 0 | 1, samples: number): Promise<number[]> {
  const pub = await connectAsync(n.ingestion.mqtt!.url);
  const path = SENSORS[0]!;
  let waiting: { marker: number; resolve: () => void } | null = null;
  const link = n.runtime.link(path, 'latest', (e) => {
    const v = e.type === 'value' ? (e.value as { co2?: number } | null) : null;
    if (waiting && v?.co2 === waiting.marker) waiting.resolve();
  });
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const marker = 100_000 + i;
    const seen = new Promise<void>((resolve) => (waiting = { marker, resolve }));
    const t0 = process.hrtime.bigint();
    pub.publish(TOPICS[0]!, JSON.stringify({ temperature: 20, humidity: 40, co2: marker }), { qos });
    await seen;
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  link.close();
  await pub.endAsync();
  return out.sort((a, b) => a - b);
}

/** HTTP batch ingest: 1000 structured CloudEvents per request, 4 in flight, sent from a worker thread. */
export async function httpRate(
  n: TwinflowNode,
  bodies: string[],
  perBatch: number,
  authorization?: string,
): Promise<number> {
  const worker = new Worker(new URL('./lib/http-load-worker.js', import.meta.url));
  try {
    const reply = () =>
      new Promise<any>((resolve, reject) => (worker.once('message', resolve), worker.once('error', reject)));
    worker.postMessage({
      url: `${n.url}/events`,
      bodies,
      contentType: 'application/cloudevents-batch+json',
      concurrency: 4,
      authorization,
    });
    await reply();
    worker.postMessage('go');
    const r = await reply();
    if (r.error) throw new Error(r.error);
    return (bodies.length * perBatch) / (r.ms / 1000);
  } finally {
    await worker.terminate();
  }
}

export function batchEvents(pass: number, batches: number, perBatch: number): EventInput[][] {
  const time = new Date(1_700_000_000_000).toISOString();
  return Array.from({ length: batches }, (_, b) =>
    Array.from({ length: perBatch }, (_, i) => {
      const k = b * perBatch + i;
      return {
        specversion: '1.0',
        id: `${pass}.${k}`,
        source: 'urn:bench',
        type: 'reading',
        subject: SENSORS[k % SENSORS.length]!,
        time,
        data: { temperature: 18 + (k % 16) / 4, humidity: 40 },
      } as EventInput;
    }),
  );
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const count = ctx.quick ? 20_000 : 100_000;
  const figures: Figure[] = [];
  let mosq: Mosquitto | null = null;
  const note = hasMosquitto
    ? undefined
    : 'mosquitto not installed: raw baseline and external mode skipped (scripts/install-system-deps.sh mosquitto mosquitto-clients)';
  if (hasMosquitto) mosq = await startMosquitto();
  try {
    const embedded = await node({ mqtt: { port: 0 } });
    const warm = await connectAsync(embedded.ingestion.mqtt!.url);
    await publishMany(warm, SENSORS.length, 1); // every sensor twin started before timing
    await warm.endAsync();
    const external = mosq ? await node({ mqtt: { url: mosq.url, clientId: 'tf-bench', subscription: 'org/#' } }) : null;
    const embeddedRates: Record<0 | 1, number[]> = { 0: [], 1: [] };
    for (const qos of [0, 1] as const) {
      const baseline = mosq ? await repeat(ctx.runs, () => rawRate(mosq.url, qos, count)) : undefined;
      const ratio = qos === 0 ? 0.6 : 0.8;
      const emb = await repeat(ctx.runs, () => oursRate(embedded, embedded.ingestion.mqtt!.url, qos, count));
      embeddedRates[qos] = emb;
      figures.push({
        scenario: 'ingest',
        figure: `MQTT QoS ${qos} events/s, embedded aedes → committed`,
        unit: 'ev/s',
        ours: emb,
        baseline,
        baselineName: `mosquitto pub→sub QoS ${qos}`,
        target: { ratio, cmp: '>=' },
        note,
      });
      if (external && mosq) {
        const ext = await repeat(ctx.runs, () => oursRate(external, mosq.url, qos, count));
        figures.push({
          scenario: 'ingest',
          figure: `MQTT QoS ${qos} events/s, via mosquitto → committed`,
          unit: 'ev/s',
          ours: ext,
          baseline,
          baselineName: `mosquitto pub→sub QoS ${qos}`,
          target: { ratio, cmp: '>=' },
        });
      }
      const lat = await latencies(embedded, qos, ctx.quick ? 300 : 1000);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
      figures.push({
        scenario: 'ingest',
        figure: `QoS ${qos} publish→lane update p50 (embedded)`,
        unit: 'ms',
        ours: [q(0.5)],
      });
      figures.push({
        scenario: 'ingest',
        figure: `QoS ${qos} publish→lane update p99 (embedded)`,
        unit: 'ms',
        ours: [q(0.99)],
      });
    }
    await external?.close();
    await embedded.close();

    // A second raw broker baseline: nats-server's MQTT listener (it goes through JetStream at QoS 1).
    if (hasNatsServer) {
      const nats = await startNatsMqtt();
      try {
        for (const qos of [0, 1] as const) {
          const natsRate = await repeat(ctx.runs, () => rawRate(nats.url, qos, count));
          const mosqRate = mosq ? await repeat(ctx.runs, () => rawRate(mosq.url, qos, count)) : undefined;
          figures.push({
            scenario: 'ingest',
            figure: `raw nats-server MQTT pub→sub QoS ${qos} (a baseline)`,
            unit: 'ev/s',
            ours: natsRate,
            baseline: mosqRate,
            baselineName: `mosquitto QoS ${qos}`,
          });
        }
      } finally {
        await nats.stop();
      }
    } else {
      figures.push({
        scenario: 'ingest',
        figure: 'raw nats-server MQTT pub→sub (a baseline)',
        unit: 'ev/s',
        ours: [NaN],
        note: 'nats-server not installed (scripts/install-system-deps.sh nats-server)',
      });
    }

    const perBatch = 1000,
      batches = ctx.quick ? 20 : 100;
    const http = await node({});
    await http.runtime.ingest(SENSORS.map((subject) => ({ subject, data: { temperature: 20, humidity: 40 } })));
    let pass = 0;
    const ours = await repeat(ctx.runs, async () => {
      const bodies = batchEvents(++pass, batches, perBatch).map((b) => JSON.stringify(b));
      return httpRate(http, bodies, perBatch);
    });
    const inProcess = await repeat(ctx.runs, async () => {
      const events = batchEvents(++pass, batches, perBatch);
      const t0 = process.hrtime.bigint();
      await Promise.all(events.map((b) => http.runtime.ingest(b)));
      return perSecond(batches * perBatch, process.hrtime.bigint() - t0);
    });
    figures.push({
      scenario: 'ingest',
      figure: 'HTTP batch events/s (1000/request, 4 in flight, client thread)',
      unit: 'ev/s',
      ours,
      baseline: inProcess,
      baselineName: 'Runtime.ingest in process',
      target: { value: 200_000, cmp: '>=' },
    });

    // The ingest rate limiter's cost: the same load on a node whose limit (per sender, here
    // one address) is too high to ever refuse, against the limiter off, alternating runs.
    const limited = await node({ ingestRate: { eventsPerSecond: 1e12, burst: 1e12 } });
    await limited.runtime.ingest(SENSORS.map((subject) => ({ subject, data: { temperature: 20, humidity: 40 } })));
    const off: number[] = [],
      on: number[] = [];
    for (let run = 0; run <= ctx.runs; run++) {
      const bodies = () => batchEvents(++pass, batches, perBatch).map((b) => JSON.stringify(b));
      const a = await httpRate(http, bodies(), perBatch);
      const b = await httpRate(limited, bodies(), perBatch);
      // The first pair warms both up.
      if (run > 0) {
        off.push(a);
        on.push(b);
      }
    }
    figures.push({
      scenario: 'ingest',
      figure: 'HTTP batch events/s with --ingest-rate set (never refusing) vs off',
      unit: 'ev/s',
      ours: on,
      baseline: off,
      baselineName: 'ingest rate off, same run',
      target: { ratio: 0.95, cmp: '>=' },
    });
    await limited.close();
    await http.close();

    figures.push(...(await defaultFlags(ctx, count, embeddedRates, ours)));
  } finally {
    await mosq?.stop();
  }
  return figures;
}

/**
 * The node as `twinflow serve` runs it: a worker per core, LMDB (strict) in a data
 * directory, the embedded broker. The rows above run one shard on the node's thread with
 * state in memory, to compare the fronts with their raw baselines; these are what a
 * device sees of a default node.
 */
async function defaultFlags(
  ctx: BenchContext,
  count: number,
  inMemory: Record<0 | 1, number[]>,
  httpInMemory: number[],
): Promise<Figure[]> {
  const workers = availableParallelism();
  const dataDir = await mkdtemp(join(tmpdir(), 'tf-bench-ingest-'));
  const figures: Figure[] = [];
  const flags = `${workers} workers, LMDB strict, embedded broker`;
  const n = await startNode({
    models: buildingModels(),
    modelSource: buildingModelSource(),
    workers,
    dataDir,
    port: 0,
    logger: silent,
    mqtt: { port: 0 },
  });
  try {
    await n.runtime.ingest(SENSORS.map((subject) => ({ subject, data: { temperature: 20, humidity: 40 } })));
    for (const qos of [0, 1] as const) {
      const rates = await repeat(ctx.runs, () => oursRate(n, n.ingestion.mqtt!.url, qos, count));
      figures.push({
        scenario: 'ingest',
        figure: `MQTT QoS ${qos} events/s at the default flags (${flags})`,
        unit: 'ev/s',
        ours: rates,
        baseline: inMemory[qos],
        baselineName: 'embedded, one shard on the node thread, in memory (above)',
      });
    }
    const perBatch = 1000,
      batches = ctx.quick ? 20 : 100;
    let pass = 1000;
    const http = await repeat(ctx.runs, () =>
      httpRate(
        n,
        batchEvents(++pass, batches, perBatch).map((b) => JSON.stringify(b)),
        perBatch,
      ),
    );
    figures.push({
      scenario: 'ingest',
      figure: `HTTP batch events/s at the default flags (${flags})`,
      unit: 'ev/s',
      ours: http,
      baseline: httpInMemory,
      baselineName: 'one shard on the node thread, in memory (above)',
    });
    if (n.ingestion.queue.rejected > 0) throw new Error(`${n.ingestion.queue.rejected} events rejected`);
  } finally {
    await n.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return figures;
}
