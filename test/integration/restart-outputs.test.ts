/**
 * Derived events a node emits while it starts reach its sinks. Timers that came due while
 * the node was down (the `sensor.offline` of every sensor that went silent) fire as soon as
 * its shards start, in the workers or on the main thread, before `startNode` has subscribed
 * its webhooks, MQTT outputs and `/signals`: they were emitted to no listener and lost,
 * uncounted (bug bash). Real sockets, a real webhook receiver, LMDB strict in a temp dir.
 */
import { takeSseEvents } from '../support/sse.js';
import { createServer, get } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { SimulatedClock, type DerivedEvent, type NodeOptions } from '../../src/index.js';
import { defaultNode, stopNode } from '../support/default-node.js';
import { pollUntil } from '../support/poll.js';
import { tempDir } from '../support/tmp.js';

const servers: { close(done: () => void): void }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A webhook receiver on a free loopback port, keeping each CloudEvent it is posted (structured mode). */
async function webhook(): Promise<{ url: string; events: DerivedEvent[] }> {
  const events: DerivedEvent[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      events.push(JSON.parse(body) as DerivedEvent);
      res.writeHead(204).end();
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, events };
}

/**
 * An external MQTT broker (aedes) that answers a CONNECT only after `delayMs`, as one across a
 * slow network does: the node's start waits for it, with its shards already running. Keeps
 * the topics of what is published to it.
 */
async function slowBroker(delayMs: number): Promise<{ url: string; topics: string[] }> {
  const topics: string[] = [];
  const broker = await Aedes.createBroker({
    preConnect: (_client, _packet, callback) => setTimeout(() => callback(null, true), delayMs),
  });
  broker.on('publish', (packet, client) => {
    if (client) topics.push(packet.topic);
  });
  const srv = createTcpServer((socket) => broker.handle(socket));
  servers.push({ close: (done) => broker.close(() => srv.close(() => done())) });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `mqtt://127.0.0.1:${(srv.address() as AddressInfo).port}`, topics };
}

/**
 * Reads `GET /signals` until `count` events came (or `ms` passed), then closes the connection
 * (its socket too: after a fetch aborted mid-stream the node's close waited seconds).
 */
function signals(url: string, count: number, ms = 5000): Promise<DerivedEvent[]> {
  return new Promise((resolve, reject) => {
    const events: DerivedEvent[] = [];
    let text = '';
    const req = get(`${url}/signals`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const taken = takeSseEvents<DerivedEvent>(text + chunk);
        text = taken.rest;
        events.push(...taken.events);
        if (events.length >= count) done();
      });
    });
    const timer = setTimeout(() => done(), ms);
    const done = (): void => {
      clearTimeout(timer);
      req.destroy();
      resolve(events);
    };
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// 4 buildings × 6 rooms: with 2 workers (one shard per building) both workers hold some.
const SENSORS = [1, 2, 3, 4].flatMap((b) =>
  [1, 2, 3, 4, 5, 6].map((r) => `/org/o/site/s/building/${b}/floor/1/unit/a/room/${r}/sensors/climate`),
);
const offline = (events: readonly DerivedEvent[]): string[] =>
  events
    .filter((e) => e.type === 'sensor.offline')
    .map((e) => e.subject)
    .sort();

// 2 workers with the embedded broker: `twinflow serve`'s defaults, where the bug bash lost
// them (the workers fire the timers while the main thread waits for them to start). On this
// thread the twins' loads and commits take a while, so it lost them when the node's start
// took longer, here because it waits for an external broker.
describe.each([
  { name: '2 workers, embedded MQTT broker', workers: 2, broker: 'embedded' },
  { name: '0 workers, external MQTT broker', workers: 0, broker: 'external' },
])('a restart with timers due while the node was down ($name)', ({ workers, broker }) => {
  it('delivers every overdue sensor.offline to the webhook, MQTT and /signals', async () => {
    const dataDir = tempDir('tf-restart-outputs-');
    const models = { models: buildingModels(), modelSource: buildingModelSource(), workers };
    // The first run's clock is an hour behind and never moves: the readings arm offline timers
    // (10 min) that are due 50 min before the restart, and none fires before the node stops.
    // On this thread: the restart is what is tested, and worker starts are the test's cost.
    const first = await defaultNode(dataDir, {
      ...models,
      workers: 0,
      clock: new SimulatedClock(Date.now() - 3_600_000),
    });
    const posted = await fetch(`${first.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SENSORS.map((subject) => ({ subject, data: { temperature: 21, humidity: 40 } }))),
    });
    expect(posted.status).toBe(202);
    await first.runtime.settle();
    expect(first.runtime.stats().outputs).toBe(0);
    await stopNode(first);

    // The restart, on the wall clock: every sensor's timer is overdue when its shard starts.
    const hook = await webhook();
    const external = broker === 'external' ? await slowBroker(500) : undefined;
    const mqtt: NodeOptions['mqtt'] = external
      ? // Only readings: the node's own outputs (…/sensors/climate/signals/…) are not input.
        {
          url: external.url,
          protocolVersion: 4,
          subscription: 'org/+/site/+/building/+/floor/+/unit/+/room/+/sensors/+',
        }
      : { port: 0 };
    const node = await defaultNode(dataDir, { ...models, mqtt, outputs: { webhooks: [hook.url] } });
    await pollUntil(
      'every overdue offline timer fired',
      15_000,
      async () => node.runtime.stats().outputs,
      (n) => n >= SENSORS.length,
    );
    await node.runtime.settle();
    await node.ingestion.outputs.idle();
    expect(offline(hook.events)).toEqual([...SENSORS].sort());
    const delivered = { delivered: SENSORS.length, dropped: 0, deadLettered: 0, queued: 0 };
    expect(node.ingestion.outputs.stats()).toMatchObject({ [`webhook ${hook.url}`]: delivered, mqtt: delivered });
    if (external)
      expect(external.topics.filter((t) => t.endsWith('/signals/sensor.offline')).sort()).toEqual(
        SENSORS.map((p) => `${p.slice(1)}/signals/sensor.offline`).sort(),
      );
    // A reader that connects now gets them from the recent buffer (it keeps the last 100).
    expect(offline(await signals(node.url, SENSORS.length))).toEqual([...SENSORS].sort());
    const status = await fetch(`${node.url}/twins${SENSORS[0]}`).then((r) => r.json() as Promise<any>);
    expect(status.lanes.status).toBe('offline');
    await stopNode(node); // before its broker closes (afterEach), or its MQTT client would reconnect
  });
});
