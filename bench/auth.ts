/**
 * auth: what access rules cost. The same ingest and fanout work with no access file
 * (baseline) and with one (ours), alternating in the same run: a token per connection, and
 * an access file of 300 principals whose grants add up to ~350 rules; the bench principal
 * itself holds 100 grants, 50 of them starting with a wildcard below `/org` (so every path
 * it ingests is tested against them when the per-path cache misses).
 *
 * - HTTP batch ingest (1000 events per request, 4 in flight, `Authorization: Bearer`);
 * - MQTT QoS 0 through the embedded broker (the token as the CONNECT password): every
 *   reading's subject is checked for `ingest`, over 2,000 sensors;
 * - WARP fanout, 1,000 subscribers at 20k updates/s (`?token=` on each socket): links are
 *   checked once, events flow unchecked, so deliveries and server CPU should not move.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newToken } from '../src/access/secrets.js';
import { buildingModels } from '../models/index.js';
import { MemoryStateStore, startNode, type TwinflowNode } from '../src/index.js';
import { pino } from 'pino';
import { ours as fanout } from './fanout.js';
import { batchEvents, httpRate, oursRate } from './ingest.js';
import { FanoutClients } from './lib/fanout-probe.js';
import { median, type BenchContext, type Figure } from './lib/harness.js';

/** Writes the access file; returns it and the bench principal's token. */
function accessFile(): { file: string; token: string } {
  const bench = newToken();
  const principals: Record<string, unknown> = {};
  for (let i = 0; i < 299; i++)
    principals[`tenant-${i}`] = {
      tokens: [newToken().stored],
      grants: [{ paths: [`/org/t${i}/**`], rights: ['read', 'ingest'] }],
    };
  const grants = [
    { paths: ['/org/bench/**'], rights: ['read', 'ingest', 'command'] },
    ...Array.from({ length: 50 }, (_, k) => ({ paths: [`/org/*/site/*/building/x${k}/**`], rights: ['read'] })),
    ...Array.from({ length: 49 }, (_, k) => ({ paths: [`/org/other${k}/**`], rights: ['read'] })),
  ];
  principals.bench = { tokens: [bench.stored], grants };
  const file = join(tmpdir(), `twinflow-bench-access-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ principals }));
  return { file, token: bench.token };
}

async function node(access: string | undefined): Promise<TwinflowNode> {
  return startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
    mqtt: { port: 0 },
    access,
  });
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const auth = accessFile();
  const runs = ctx.quick ? 3 : Math.max(3, ctx.runs);
  const perBatch = 1000;
  const batches = ctx.quick ? 40 : 200;
  const mqttCount = ctx.quick ? 50_000 : 200_000;
  const http = { off: [] as number[], on: [] as number[] };
  const mqtt = { off: [] as number[], on: [] as number[] };
  for (let pass = 0; pass <= runs; pass++) {
    // Alternating, off then on, each on a fresh node; pass 0 is a warm-up.
    for (const mode of ['off', 'on'] as const) {
      const n = await node(mode === 'on' ? auth.file : undefined);
      try {
        const bodies = batchEvents(pass * 2 + (mode === 'on' ? 1 : 0), batches, perBatch).map((b) => JSON.stringify(b));
        const h = await httpRate(n, bodies, perBatch, mode === 'on' ? `Bearer ${auth.token}` : undefined);
        const m = await oursRate(
          n,
          n.ingestion.mqtt!.url,
          0,
          mqttCount,
          mode === 'on' ? { username: 'bench', password: auth.token } : {},
        );
        // A refused event would count as done and flatter the rate: every one must be accepted.
        if (n.ingestion.queue.rejected > 0) throw new Error(`${n.ingestion.queue.rejected} events rejected (${mode})`);
        if (pass > 0) {
          http[mode].push(h);
          mqtt[mode].push(m);
        }
      } finally {
        await n.close();
      }
    }
  }

  const clients = await FanoutClients.fork();
  const fan = { off: [] as number[], on: [] as number[], cpuOff: [] as number[], cpuOn: [] as number[] };
  try {
    for (let pass = 0; pass < (ctx.quick ? 1 : 2); pass++) {
      const off = await fanout(clients, 1000, ctx.quick ? 5000 : 20_000, ctx.quick ? 500 : 2000, runs);
      const on = await fanout(clients, 1000, ctx.quick ? 5000 : 20_000, ctx.quick ? 500 : 2000, runs, auth);
      fan.off.push(...off.map((w) => w.perSecond));
      fan.on.push(...on.map((w) => w.perSecond));
      fan.cpuOff.push(...off.map((w) => 100 * w.serverCpu));
      fan.cpuOn.push(...on.map((w) => 100 * w.serverCpu));
    }
  } finally {
    clients.kill();
  }

  const base = { scenario: 'auth', baselineName: 'no access rules' };
  const note = `one token per connection; access file of 300 principals, ~350 rules (bench principal: 100 grants)`;
  return [
    {
      ...base,
      figure: 'HTTP batch events/s, access rules on',
      unit: 'ev/s',
      ours: http.on,
      baseline: http.off,
      target: { ratio: 0.95, cmp: '>=' },
      note,
    },
    {
      ...base,
      figure: 'MQTT QoS 0 events/s (embedded), access rules on',
      unit: 'ev/s',
      ours: mqtt.on,
      baseline: mqtt.off,
      target: { ratio: 0.95, cmp: '>=' },
    },
    {
      ...base,
      figure: 'fanout 1,000 subs: deliveries/s, access rules on',
      unit: '/s',
      ours: fan.on,
      baseline: fan.off,
      target: { ratio: 0.95, cmp: '>=' },
    },
    {
      ...base,
      figure: 'fanout 1,000 subs: server CPU (one core = 100), access rules on',
      unit: '%',
      ours: fan.cpuOn,
      baseline: fan.cpuOff,
      target: { ratio: 1.05, cmp: '<=' },
      note: `medians off/on: ${median(fan.cpuOff).toFixed(1)} / ${median(fan.cpuOn).toFixed(1)}`,
    },
  ];
}
