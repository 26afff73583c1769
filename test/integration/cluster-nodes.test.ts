/**
 * One twin space over 3 clustered nats-servers (JetStream R3) and 3 `twinflow serve
 * --cluster` processes on the building model: events published to any node, over HTTP
 * and over that node's MQTT broker, reach their twin wherever it runs; reads, commands
 * and subtree queries answer the same from every node; aggregates reach the org, and
 * `GET /settled` of one node waits until they did (the whole space, not its own twins); a
 * derived event (the site's evacuation) reaches the embedded broker of every node once,
 * whichever node runs the site (fails when outputs stay on their node).
 */
import { connect as mqttConnect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/mqtt.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { pollUntil } from '../support/poll.js';
import { serveProcess, type ServeProcess } from '../support/serve.js';

const ORG = '/org/o';
const ROOM_A = '/org/o/site/s/building/1/floor/1/unit/a/room/1';
const ROOM_B = '/org/o/site/s/building/2/floor/4/unit/b/room/2';
const ROOM_C = '/org/o/site/t/building/3/floor/2/unit/c/room/3';
const UNIT_B = '/org/o/site/s/building/2/floor/4/unit/b';

async function startNodes(urls: string[]): Promise<{ node: ServeProcess; mqtt: number }[]> {
  return Promise.all(
    ['a', 'b', 'c'].map(async (id) => {
      const mqtt = await freePort();
      const node = await serveProcess([
        '--port',
        '0',
        '--mqtt-port',
        String(mqtt),
        '--cluster',
        urls.join(','),
        '--node-id',
        id,
        '--cluster-replicas',
        '3',
      ]);
      return { node, mqtt };
    }),
  );
}

async function lanes(url: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/twins${path}`);
  const body = (await res.json()) as { lanes?: Record<string, unknown> };
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body.lanes!;
}

describe.skipIf(!hasNatsServer)('a twin space on 3 nodes (serve --cluster, 3 nats-servers)', () => {
  it('events into any node over HTTP and MQTT reach their twin; reads, commands and queries work from every node; the org aggregates', async () => {
    const nats = await natsCluster(3);
    const [a, b, c] = await startNodes(nats.urls());

    // HTTP into a and b, MQTT into c's own broker.
    const post = async (url: string, subject: string, data: unknown): Promise<void> => {
      const res = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject, data }),
      });
      expect(res.status).toBe(202);
    };
    // Subscribers of each node's own broker, for the site's evacuation signal.
    const heard = await Promise.all(
      [a!, b!, c!].map(async ({ mqtt }, i) => {
        const sub = mqttConnect(`mqtt://127.0.0.1:${mqtt}`, { clientId: `signals-${i}`, protocolVersion: 5 });
        await new Promise<void>((resolve, reject) => sub.once('connect', () => resolve()).once('error', reject));
        const topics: string[] = [];
        sub.on('message', (topic) => topics.push(topic));
        await sub.subscribeAsync('org/o/site/+/signals/#', { qos: 1 });
        return { sub, topics };
      }),
    );
    await post(a!.node.url, `${ROOM_A}/sensors/occupancy`, { occupied: true });
    await post(b!.node.url, `${ROOM_B}/sensors/climate`, { temperature: 23.5, humidity: 40 });
    const client = mqttConnect(`mqtt://127.0.0.1:${c!.mqtt}`, { clientId: 'fire-panel', protocolVersion: 5 });
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
    await client.publishAsync(`${ROOM_C.slice(1)}/sensors/fire`, JSON.stringify({ alarm: true }), { qos: 1 });
    await client.endAsync();

    // GET /settled of any node waits for the whole space: every event acknowledged before it
    // applied by its owner, and what it caused in other vshards (the fire climbs room → unit →
    // floor → building → site → org, across vshards and nodes). Then every node answers for
    // every twin, whichever node runs it, at once.
    const settled = await fetch(`${b!.node.url}/settled?timeout=30000`);
    expect(settled.status).toBe(200);
    for (const { node } of [a!, b!, c!]) {
      expect((await lanes(node.url, ROOM_A)).occupied).toBe(true);
      expect((await lanes(node.url, ROOM_B)).temperature).toBe(23.5);
      expect((await lanes(node.url, ROOM_C)).alarm).toBe(true);
      expect(await lanes(node.url, ORG)).toMatchObject({ alarm: true, alarmSites: 1 });
    }
    // The evacuation of site t, whichever node runs it, on every node's broker, once.
    for (const { topics } of heard)
      await pollUntil(
        'the evacuation on a node broker',
        20_000,
        async () => topics,
        (t) => t.includes('org/o/site/t/signals/evacuation'),
      );
    await new Promise((r) => setTimeout(r, 300));
    for (const { sub, topics } of heard) {
      expect(topics.filter((t) => t === 'org/o/site/t/signals/evacuation')).toHaveLength(1);
      await sub.endAsync();
    }

    // A command sent through b changes the unit wherever it runs; c reads it. Sent again with
    // the same Idempotency-Key through another node (a client retry), it runs no second turn.
    const duplicates = async (): Promise<number> => {
      let n = 0;
      for (const { node } of [a!, b!, c!]) {
        const text = await (await fetch(`${node.url}/metrics`)).text();
        n += Number(/^twinflow_events_duplicate_total (\d+)$/m.exec(text)?.[1] ?? NaN);
      }
      return n;
    };
    const before = await duplicates();
    for (const via of [b!, a!]) {
      const cmd = await fetch(`${via.node.url}/twins${UNIT_B}/commands/secure`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'secure-b-1' },
        body: 'true',
      });
      expect(cmd.status).toBe(202);
    }
    expect((await lanes(c!.node.url, UNIT_B)).secured).toBe(true);
    expect(await duplicates()).toBe(before + 1);
    // A refused command carries the owner's error to the caller of any node.
    const bad = await fetch(`${a!.node.url}/twins${UNIT_B}/commands/secure`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '"yes"',
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { code: string }).code).toBe('TWIN_PAYLOAD_REJECTED');

    // A subtree query from any node lists the twins of every node.
    const listed = await fetch(`${c!.node.url}/twins?filter=${encodeURIComponent('/org/o/**/room/*')}`);
    expect(listed.status).toBe(200);
    const paths = ((await listed.json()) as { items: { path: string }[] }).items.map((t) => t.path).sort();
    expect(paths).toEqual([ROOM_A, ROOM_B, ROOM_C].sort());
  }, 90_000);
});
