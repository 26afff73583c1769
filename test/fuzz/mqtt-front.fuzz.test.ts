/**
 * Fuzzing the embedded broker's MQTT front on a real node (port 0, real sockets):
 * PUBLISH through an MQTT 5 session (QoS 1, user properties and content type: binary and
 * structured CloudEvents) and an MQTT 3.1.1 one, and raw mutated MQTT 5 packets on fresh
 * connections. A message the ingest path refuses (not for ingestion, invalid path,
 * undecodable payload) gets a failure PUBACK on MQTT 5 and changes no twin's state.
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TwinflowNode } from '../../src/index.js';
import { MqttDecoder, TopicMap } from '../../src/node/ingest/mqtt-message.js';
import { TwinPath } from '../../src/topology/index.js';
import { FRONT_RUNS, TIMEOUT, reportFront, samples, type FuzzStats } from './runs.js';
import { TOPIC, contentType, packetBytes, payload, topic, userProperties } from './mqtt-gen.js';
import { digest, frontNode, pool } from './front-node.js';

let node: TwinflowNode;
const clients: MqttClient[] = [];
beforeAll(async () => {
  node = await frontNode();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await node.close();
});

async function client(protocolVersion: 4 | 5): Promise<MqttClient> {
  const c = await connectAsync(node.ingestion.mqtt!.url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(c);
  return c;
}

/** Messages in flight per connection (below the broker's Receive Maximum). */
const WINDOW = 16;
/**
 * A PUBACK later than this is a hang: PUBACK follows the commit, which takes ms; under
 * the load of `npm run fuzz` on a shared 2-core box the slowest seen was well under 1 s.
 */
const PUBACK_BOUND_MS = 10_000;
/** Messages between two digests. */
const CHUNK = 500;

const message = fc.record({
  // NUL in a topic is a malformed packet (the connection is closed): the raw-packet property covers it.
  topic: topic.filter((t) => t.length > 0 && !t.includes('\u0000')),
  payload,
  userProperties,
  contentType,
  v5: fc.boolean(),
});
type Message = typeof message extends fc.Arbitrary<infer M> ? M : never;

const topics = new TopicMap('');

/** What the ingest path does with a message, decided by its own parts: ignored, rejected, or maybe ingested. */
function verdict(m: Message): 'ignored' | 'rejected' | 'ingest' {
  const path = topics.pathOf(m.topic);
  if (path === null) return 'ignored';
  try {
    const properties = m.v5 ? { userProperties: m.userProperties, contentType: m.contentType } : undefined;
    // The twin is the CloudEvent's subject when it names one, else the topic's path (mqtt-ingest.ts).
    const input = new MqttDecoder().message({ topic: m.topic, payload: m.payload, properties }, path, 'fuzz');
    if (input.subject === path && topics.leadingSlash(m.topic)) return 'rejected';
    TwinPath.parse(input.subject);
    return 'ingest';
  } catch {
    return 'rejected';
  }
}

/** Sends CONNECT and `packet` on a fresh connection; resolves with what came back once the broker closed it (or after 2 s). */
async function rawExchange(packet: Buffer): Promise<{ bytes: Buffer; closed: boolean }> {
  const { port } = new URL(node.ingestion.mqtt!.url);
  const socket = connect(Number(port), '127.0.0.1');
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 2000);
    socket.on('close', () => (clearTimeout(timer), resolve(true)));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate(
          { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: '', keepalive: 30 },
          { protocolVersion: 5 },
        ),
      );
      socket.write(packet);
    });
  });
  socket.destroy();
  return { bytes: Buffer.concat(got), closed };
}

describe('MQTT 5 session regressions found by fuzzing', () => {
  // Before: granted [] made the SUBACK encoder throw inside the socket's data event: an uncaught exception, the node died.
  it.each([
    ['SUBSCRIBE', Buffer.from([0x82, 0x03, 0x00, 0x01, 0x00])],
    ['UNSUBSCRIBE', Buffer.from([0xa2, 0x03, 0x00, 0x01, 0x00])],
  ])('a %s without topic filters is a protocol error (DISCONNECT 0x82), not a crash', async (_name, packet) => {
    const { bytes, closed } = await rawExchange(packet);
    expect(closed).toBe(true);
    // CONNACK, then DISCONNECT (0xe0) with reason code 0x82.
    const at = bytes.indexOf(0xe0, 2);
    expect(at).toBeGreaterThan(0);
    expect(bytes[at + 2]).toBe(0x82);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});

describe('MQTT front fuzz', () => {
  it(
    'refused messages get a failure PUBACK (MQTT 5) and change no state; the rest are answered',
    async () => {
      const v4 = await client(4);
      const v5 = await client(5);
      const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
      const start = performance.now();
      const all = samples(message, FRONT_RUNS, 11).map((m) => ({ m, v: verdict(m) }));
      const quiet = all.filter((x) => x.v !== 'ingest');
      const ingest = all.filter((x) => x.v === 'ingest');
      const send = async ({ m, v }: { m: Message; v: string }) => {
        const t0 = performance.now();
        const properties = m.v5
          ? {
              ...(m.userProperties && Object.keys(m.userProperties).length > 0 && { userProperties: m.userProperties }),
              ...(m.contentType !== undefined && { contentType: m.contentType }),
            }
          : undefined;
        // MQTT 3.1.1 has no reason codes: a wildcard in a PUBLISH topic is a protocol violation
        // and aedes closes the connection (correctly). Those go over MQTT 5, which answers 0x90.
        const c = m.v5 || /[+#]/.test(m.topic) ? v5 : v4;
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PUBACK in ${PUBACK_BOUND_MS} ms for ${JSON.stringify(m.topic)} (${v})`)),
            PUBACK_BOUND_MS,
          );
        });
        const answer = c.publishAsync(m.topic, m.payload, { qos: 1, ...(properties && { properties }) }).then(
          () => 0,
          (e: { code?: number }) => e.code ?? -1, // -1: refused by mqtt.js itself (its topic checks)
        );
        const result = await Promise.race([answer, hang]).finally(() => clearTimeout(timer));
        if (v === 'rejected' && m.v5 && result !== -1) expect(result, m.topic).toBeGreaterThanOrEqual(0x80);
        if (result !== 0) s.thrown++;
        s.cases++;
        s.maxCaseMs = Math.max(s.maxCaseMs, performance.now() - t0);
      };
      for (let i = 0; i < quiet.length; i += CHUNK) {
        const before = await digest(node);
        await pool(quiet.slice(i, i + CHUNK), WINDOW, send);
        await node.ingestion.queue.drained();
        expect(await digest(node)).toBe(before);
      }
      await pool(ingest, WINDOW, send);
      s.totalMs = performance.now() - start;
      reportFront(
        'mqtt: PUBLISH via embedded broker',
        s,
        `refused; ${quiet.length} refused or ignored, state unchanged`,
      );
      expect(s.cases).toBe(FRONT_RUNS);
      expect(v4.connected && v5.connected).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'raw mutated MQTT 5 packets after CONNECT: the broker answers or closes, and no state changes',
    async () => {
      const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
      const start = performance.now();
      const { port } = new URL(node.ingestion.mqtt!.url);
      const connectBytes = mqttPacket.generate(
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: '', keepalive: 30 },
        { protocolVersion: 5 },
      );
      // One connection per case (a malformed packet ends it): a tenth of the cases, in parallel.
      const cases = samples(fc.array(packetBytes, { minLength: 1, maxLength: 4 }), Math.ceil(FRONT_RUNS / 10), 12);
      const before = await digest(node);
      await pool(cases, 16, async (packets) => {
        const t0 = performance.now();
        const socket: Socket = connect(Number(port), '127.0.0.1');
        await new Promise<void>((resolve) => {
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.on('data', () => undefined);
          socket.on('connect', () => {
            socket.write(connectBytes);
            for (const p of packets) socket.write(p);
            // A ping after the case: an answer to it (or the close) means the broker read everything.
            socket.write(mqttPacket.generate({ cmd: 'pingreq' }, { protocolVersion: 5 }));
            setTimeout(() => socket.end(), 20);
          });
        });
        socket.destroy();
        s.cases++;
        s.maxCaseMs = Math.max(s.maxCaseMs, performance.now() - t0);
      });
      await node.ingestion.queue.drained();
      expect(await digest(node)).toBe(before);
      s.totalMs = performance.now() - start;
      reportFront('mqtt: raw MQTT 5 packets', s, 'connections; state unchanged');
      // The broker still serves.
      const v5 = await client(5);
      // A room no fuzz case wrote to (fuzzed readings may carry future times that would outrank this one).
      const fresh = TOPIC.replace('/room/4/', '/room/9/');
      await v5.publishAsync(fresh, JSON.stringify({ temperature: 30.5, humidity: 41 }), { qos: 1 });
      expect(await node.runtime.get(`/${fresh.replace(/\/sensors\/climate$/, '')}`, 'temperature')).toBe(30.5);
    },
    TIMEOUT,
  );
});
