/**
 * Outputs when their endpoint misbehaves (bug bash round 5): a webhook that streams an
 * endless answer, one that refuses every event, and an external MQTT broker that stops
 * acknowledging, while outputs pile up and while the node closes. Real node on port 0, real HTTP servers on loopback,
 * a real mosquitto (stopped with SIGSTOP) where installed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { command, defineTwin, startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { CLOSE_GRACE_MS } from '../../src/node/ingest/external-broker.js';
import { FIRE, hasMosquitto, startMosquitto, waitFor } from '../support/mqtt.js';

/** Emits `count` derived events in one turn. */
const burst = defineTwin({
  name: 'burst',
  route: '/burst/:b',
  lanes: { fire: command<number>() },
  onCommand: {
    fire(ctx, count) {
      for (let i = 0; i < count; i++) ctx.emit('tick', { i });
    },
  },
});

const nodes: TwinflowNode[] = [];
const servers: Server[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of cleanups.splice(0)) await c();
  for (const s of servers.splice(0)) s.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A webhook endpoint on port 0 answering `status`, then (if `endless`) a body that never ends. */
async function endpoint(status: number, endless: boolean) {
  const state = { hits: 0, bytesSent: 0, authorization: undefined as string | undefined };
  const chunk = Buffer.alloc(1 << 20, 120);
  const srv = createServer((req, res) => {
    req.resume();
    state.hits++;
    state.authorization = req.headers.authorization;
    if (!endless) return void res.writeHead(status).end('{"error":"no"}');
    res.writeHead(status);
    const pump = (): void => {
      while (!res.destroyed) {
        state.bytesSent += chunk.length;
        if (!res.write(chunk)) return;
      }
    };
    res.on('drain', pump);
    pump();
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, state };
}

/** A node whose log lines are collected (JSON). */
async function start(options: Partial<NodeOptions>) {
  const lines: { msg: string; deadLettered?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });
  const n = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'info' }, sink), ...options });
  nodes.push(n);
  return { n, lines };
}

const evacuate = (n: TwinflowNode, alarm: boolean, id: string) =>
  n.runtime.ingest([{ subject: FIRE, id, source: 'test', data: { alarm } }]);

describe('outputs against endpoints that fail', () => {
  it('reads at most a bounded part of a webhook answer: an endless body neither holds the node nor its memory', async () => {
    const hook = await endpoint(200, true);
    const { n } = await start({ outputs: { webhooks: [hook.url] } });
    const t0 = performance.now();
    await evacuate(n, true, 'f1');
    await waitFor(() => n.ingestion.outputs.stats()[`webhook ${hook.url}`]!.delivered === 1, 4000, 'the delivery');
    // It read the whole answer until the 5 s timeout before: ~1 GB held on this machine.
    expect(performance.now() - t0).toBeLessThan(3000);
    await waitFor(() => hook.state.bytesSent > 0, 2000, 'the endpoint to write');
    expect(hook.state.bytesSent).toBeLessThan(64 << 20); // what socket buffers hold, not what 5 s stream
  });

  it('counts every dead letter of a webhook that refuses everything, logging them at a bounded rate, never its token', async () => {
    const hook = await endpoint(400, false);
    const { n, lines } = await start({
      outputs: { webhooks: [`${hook.url}?token=s3cret-tok`, `${hook.url}?token=other-s3cret`] },
    });
    for (let i = 0; i < 40; i++) await evacuate(n, i % 2 === 0, `f${i}`); // an evacuation and its clearing, 20 times
    await n.ingestion.outputs.idle();
    // The sink's name is in log lines, dead letters and metrics labels: its query values are
    // not. Two webhooks whose shown URLs are the same keep a count each.
    const all = n.ingestion.outputs.stats();
    for (const name of [`webhook ${hook.url}?token=***`, `webhook ${hook.url}?token=*** (2)`])
      expect(all[name]!.deadLettered, name).toBe(40);
    expect(hook.state.hits).toBe(80);
    const logged = lines.filter((l) => l.msg === 'output dead-lettered');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.length).toBeLessThanOrEqual(4); // one line per 10 s per sink, not one per event
    const res = (await (await fetch(`${n.url}/dead-letters?origin=output&limit=100`)).json()) as { items: unknown[] };
    expect(res.items.length).toBe(80);
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    expect(metrics).toContain('token=***');
    for (const shown of [JSON.stringify(lines), JSON.stringify(res), metrics]) expect(shown).not.toContain('s3cret');
  });

  it('calls a webhook whose URL holds a user and password with HTTP Basic authorization, and shows neither', async () => {
    const hook = await endpoint(200, false);
    const url = hook.url.replace('http://', 'http://hooker:p%40ss-w0rd@');
    const { n, lines } = await start({ outputs: { webhooks: [url] } });
    await evacuate(n, true, 'f1');
    await n.ingestion.outputs.idle();
    // fetch refuses a URL with credentials (its error named them): such a webhook never delivered.
    expect(hook.state.hits).toBe(1);
    expect(hook.state.authorization).toBe(`Basic ${Buffer.from('hooker:p@ss-w0rd').toString('base64')}`);
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    expect(metrics).toContain('hooker:***@');
    for (const shown of [JSON.stringify(lines), metrics, JSON.stringify(n.ingestion.outputs.stats())])
      expect(shown).not.toMatch(/p%40ss|p@ss/);
  });

  it.skipIf(!hasMosquitto)(
    'holds at most its capacity behind an external broker that stops acknowledging, dropping and counting the rest',
    async () => {
      const mosquitto = await startMosquitto();
      cleanups.push(() => mosquitto.stop());
      const { n } = await start({
        models: [burst],
        mqtt: { url: mosquitto.url, clientId: `tf-stuck-${mosquitto.port}` },
        outputs: { queue: { capacity: 1000 } },
      });
      mosquitto.process.kill('SIGSTOP');
      for (let k = 0; k < 20; k++) await n.runtime.command('/burst/1', 'fire', 5000);
      await waitFor(() => n.ingestion.outputs.stats().mqtt!.dropped === 100_000 - 1001, 10_000, 'the drops');
      expect(n.ingestion.outputs.stats().mqtt).toMatchObject({ delivered: 0, queued: 1000 });
      // What the queue still references (its array, read here because memory is the point):
      // every one of the 100 000 events before, as only a delivery let go of dropped slots.
      const held = (n.ingestion.outputs.queues[0] as unknown as { items: unknown[] }).items.length;
      expect(held).toBeLessThanOrEqual(2 * 1000 + 1024);
    },
    20_000,
  );

  it.skipIf(!hasMosquitto)(
    'closes within its grace when the external broker stops acknowledging outputs',
    async () => {
      const mosquitto = await startMosquitto();
      cleanups.push(() => mosquitto.stop());
      const { n } = await start({ mqtt: { url: mosquitto.url, clientId: `tf-hung-${mosquitto.port}` } });
      mosquitto.process.kill('SIGSTOP'); // the TCP connection stays open; nothing is acknowledged any more
      await evacuate(n, true, 'f1');
      await waitFor(() => n.ingestion.outputs.stats().mqtt!.queued === 0, 2000, 'the output to be in flight');
      expect(n.ingestion.outputs.stats().mqtt!.delivered).toBe(0);
      const t0 = performance.now();
      await Promise.race([
        nodes.pop()!.close(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('node.close() did not finish')), 10_000)),
      ]);
      // It waited for ever before (mqtt.js' graceful end waits for every acknowledgement).
      expect(performance.now() - t0).toBeLessThan(CLOSE_GRACE_MS + 3000);
    },
    20_000,
  );
});
