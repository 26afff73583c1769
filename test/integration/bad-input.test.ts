import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { CLIMATE, closeClients, cloudEvent, mqttClient, ROOM, topicOf } from '../support/mqtt.js';

const MAX = 1024;
const logLines: any[] = [];
let node: TwinflowNode;

beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _e, cb) => (logLines.push(JSON.parse(String(chunk))), cb()) });
  node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'info' }, sink),
    mqtt: { port: 0, maxPayloadBytes: MAX },
  });
});
afterAll(async () => {
  await closeClients();
  await node.close();
});

/** One row per kind of bad input, as each front sees it. */
const table = [
  {
    kind: 'invalid JSON',
    code: 'TWIN_PAYLOAD_INVALID',
    status: 400,
    reason: 0x99,
    topic: topicOf(CLIMATE),
    mqtt: '{"temperature": 2',
    http: { type: 'application/cloudevents+json', body: '{"specversion": "1.0",' },
  },
  {
    kind: 'invalid CloudEvent',
    code: 'TWIN_CLOUDEVENT_INVALID',
    status: 400,
    reason: 0x99,
    topic: topicOf(CLIMATE),
    mqtt: JSON.stringify({ specversion: '1.0', type: 'reading' }),
    http: {
      type: 'application/cloudevents+json',
      body: JSON.stringify({ specversion: '1.0', id: '1', source: 'a b', type: 'reading', subject: CLIMATE }),
    },
  },
  {
    kind: 'unknown path',
    code: 'TWIN_NO_ROUTE',
    status: 404,
    reason: 0x90,
    topic: 'nowhere/known',
    mqtt: '{}',
    http: { type: 'application/cloudevents+json', body: JSON.stringify(cloudEvent('/nowhere/known', {}, 'u1')) },
  },
  {
    kind: 'malformed path',
    code: 'TWIN_PATH_INVALID',
    status: 400,
    reason: 0x90,
    topic: 'org//contoso',
    mqtt: '{}',
    http: { type: 'application/cloudevents+json', body: JSON.stringify(cloudEvent('/org//contoso', {}, 'p1')) },
  },
  {
    kind: 'payload the model rejects',
    code: 'TWIN_PAYLOAD_REJECTED',
    status: 422,
    reason: 0x99,
    topic: topicOf(CLIMATE),
    mqtt: JSON.stringify({ temperature: 'hot' }),
    http: {
      type: 'application/cloudevents+json',
      body: JSON.stringify(cloudEvent(CLIMATE, { temperature: 'hot' }, 'r1')),
    },
  },
  {
    kind: 'oversized message',
    code: 'TWIN_PAYLOAD_TOO_LARGE',
    status: 413,
    reason: 0x83,
    topic: topicOf(CLIMATE),
    mqtt: JSON.stringify({ temperature: 20, humidity: 40, pad: 'x'.repeat(MAX) }),
    http: {
      type: 'application/cloudevents+json',
      body: JSON.stringify(cloudEvent(CLIMATE, { pad: 'x'.repeat(2 * 1024 * 1024) }, 'o1')),
    },
  },
  {
    kind: 'unsupported content type',
    code: 'TWIN_CONTENT_TYPE',
    status: 415,
    reason: null,
    topic: '',
    mqtt: '',
    http: { type: 'text/csv', body: 'a,b' },
  },
] as const;

describe('bad input of every kind gets a clear answer, a log line and a dead letter', () => {
  it.each(table)('$kind', async (row) => {
    const before = node.ingestion.deadLetters.counts().total;
    const res = await fetch(`${node.url}/events`, {
      method: 'POST',
      headers: { 'content-type': row.http.type },
      body: row.http.body,
    });
    const body = (await res.json()) as { code: string; message: string };
    expect(res.status).toBe(row.status);
    expect(body.code).toBe(row.code);
    expect(body.message.length).toBeGreaterThan(5);
    let expected = 1;

    if (row.reason !== null) {
      const v5 = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 5 });
      const code = await v5.publishAsync(row.topic, row.mqtt, { qos: 1 }).then(
        () => 0,
        (e: { code?: number }) => e.code,
      );
      expect(code).toBe(row.reason);
      // MQTT 3.1.1 has no negative PUBACK: the message is acknowledged (not redelivered forever) and dead-lettered.
      const v4 = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 4 });
      await v4.publishAsync(row.topic, row.mqtt, { qos: 1 });
      expect(v4.connected).toBe(true);
      expected = 3;
    }
    expect(node.ingestion.deadLetters.counts().total - before).toBe(expected);
    const listed = (await (await fetch(`${node.url}/dead-letters?limit=${expected}`)).json()) as {
      items: { code: string; origin: string; message: string }[];
    };
    expect(listed.items.map((i) => i.code)).toEqual(Array(expected).fill(row.code));
    expect(listed.items.at(-1)!.origin).toBe('http');
    expect(logLines.some((l) => l.code === row.code && String(l.msg).startsWith('input rejected'))).toBe(true);
  });

  it('never drops the good events around bad ones (HTTP batch and an MQTT burst)', async () => {
    const good = (t: number, id: string) => cloudEvent(CLIMATE, { temperature: t, humidity: 40 }, id);
    const res = await fetch(`${node.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([good(20, 'g1'), { specversion: '1.0' }, cloudEvent('/nowhere', {}, 'n1'), good(21, 'g2')]),
    });
    expect(res.status).toBe(207);
    expect(((await res.json()) as any).rejected.map((r: any) => [r.index, r.code])).toEqual([
      [1, 'TWIN_CLOUDEVENT_INVALID'],
      [2, 'TWIN_NO_ROUTE'],
    ]);
    expect(await node.runtime.get(ROOM, 'temperature')).toBe(21);

    const c = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 5 });
    const results = await Promise.all([
      c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 22, humidity: 40 }), { qos: 1 }).then(
        () => 0,
        (e) => e.code,
      ),
      c.publishAsync(topicOf(CLIMATE), 'nope', { qos: 1 }).then(
        () => 0,
        (e) => e.code,
      ),
      c.publishAsync('org//x', '{}', { qos: 1 }).then(
        () => 0,
        (e) => e.code,
      ),
      c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 23, humidity: 40 }), { qos: 1 }).then(
        () => 0,
        (e) => e.code,
      ),
    ]);
    expect(results).toEqual([0, 0x99, 0x90, 0]);
    expect(await node.runtime.get(ROOM, 'temperature')).toBe(23);
  });

  it('names a topic with a leading "/" as the problem, not the path "//org/…"', async () => {
    const v5 = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 5 });
    const failure = await v5.publishAsync(CLIMATE, JSON.stringify({ temperature: 20, humidity: 40 }), { qos: 1 }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(failure?.code).toBe(0x90);
    const [letter] = (
      (await (await fetch(`${node.url}/dead-letters?origin=mqtt&limit=1`)).json()) as {
        items: { code: string; message: string }[];
      }
    ).items;
    expect(letter).toMatchObject({
      code: 'TWIN_PATH_INVALID',
      message: `MQTT topic "${CLIMATE}" must not start with "/": topic "${topicOf(CLIMATE)}" is the twin "${CLIMATE}"`,
    });
    // The topic is not read when a CloudEvent's subject names the twin: that one is fine.
    await v5.publishAsync(CLIMATE, JSON.stringify(cloudEvent(CLIMATE, { temperature: 24, humidity: 40 }, 'slash-1')), {
      qos: 1,
    });
    expect(await node.runtime.get(ROOM, 'temperature')).toBe(24);
  });

  it('answers dead-letter queries and rejects bad ones', async () => {
    expect((await fetch(`${node.url}/dead-letters?limit=0`)).status).toBe(400);
    expect((await fetch(`${node.url}/dead-letters?origin=ftp`)).status).toBe(400);
    const mqttOnly = (await (await fetch(`${node.url}/dead-letters?origin=mqtt&limit=5`)).json()) as {
      items: { origin: string; where: string; preview: string; seq: number }[];
    };
    expect(mqttOnly.items.every((i) => i.origin === 'mqtt')).toBe(true);
    const seqs = mqttOnly.items.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a)); // newest first
  });
});
