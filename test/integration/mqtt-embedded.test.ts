import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { MemoryStateStore, startNode, type StateWrite, type TwinflowNode } from '../../src/index.js';
import {
  CLIMATE,
  closeClients,
  cloudEvent,
  hasMosquitto,
  mqttClient,
  OCCUPANCY,
  ROOM,
  run,
  topicOf,
  waitFor,
} from '../support/mqtt.js';

let node: TwinflowNode | undefined;
afterEach(async () => {
  await closeClients();
  await node?.close();
  node = undefined;
});

async function start(store = new MemoryStateStore()) {
  node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    store,
    mqtt: { port: 0 },
  });
  return { url: node.ingestion.mqtt!.url, port: node.ingestion.mqtt!.port!, rt: node.runtime };
}

describe('embedded MQTT broker (aedes, MQTT 3.1.1 and 5)', () => {
  it('ingests plain JSON readings at QoS 0 and 1 over MQTT 3.1.1 and 5', async () => {
    const { url, rt } = await start();
    for (const protocolVersion of [4, 5] as const) {
      const c = await mqttClient(url, { protocolVersion, clientId: `dev-${protocolVersion}` });
      const t = 18 + protocolVersion;
      await c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: t, humidity: 40 }), { qos: 1 });
      expect(await rt.get(ROOM, 'temperature')).toBe(t); // QoS 1: committed when PUBACK arrived
      await c.publishAsync(topicOf(OCCUPANCY), JSON.stringify({ occupied: protocolVersion === 5 }), { qos: 0 });
      await waitFor(async () => (await rt.get(ROOM, 'occupied')) === (protocolVersion === 5));
    }
    const latest = (await rt.get(CLIMATE, 'latest')) as { temperature: number };
    expect(latest.temperature).toBe(23);
  });

  it('ingests structured CloudEvents (3.1.1: JSON with specversion; 5: content type) and dedupes by source+id', async () => {
    const { url, rt } = await start();
    const v4 = await mqttClient(url, { protocolVersion: 4 });
    await v4.publishAsync(
      topicOf(CLIMATE),
      JSON.stringify(cloudEvent(CLIMATE, { temperature: 25, humidity: 40 }, 'a1')),
      { qos: 1 },
    );
    expect(await rt.get(ROOM, 'temperature')).toBe(25);
    const v5 = await mqttClient(url, { protocolVersion: 5 });
    // No subject: the topic names the twin. Same source+id as before: a redelivery, no effect.
    const { subject: _s, ...noSubject } = cloudEvent(CLIMATE, { temperature: 30, humidity: 40 }, 'a1');
    await v5.publishAsync(topicOf(CLIMATE), JSON.stringify(noSubject), {
      qos: 1,
      properties: { contentType: 'application/cloudevents+json' },
    });
    expect(await rt.get(ROOM, 'temperature')).toBe(25);
    await v5.publishAsync(topicOf(CLIMATE), JSON.stringify({ ...noSubject, id: 'a2' }), {
      qos: 0,
      properties: { contentType: 'application/cloudevents+json' },
    });
    await waitFor(async () => (await rt.get(ROOM, 'temperature')) === 30);
    expect(rt.stats().duplicates).toBe(1);
  });

  it('ingests binary-mode CloudEvents over MQTT 5 (user properties, content type)', async () => {
    const { url, rt } = await start();
    const c = await mqttClient(url, { protocolVersion: 5 });
    const attrs = { specversion: '1.0', id: 'b1', source: 'urn:dev:1', type: 'reading', time: '2026-01-01T10:00:00Z' };
    await c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 17, humidity: 50 }), {
      qos: 1,
      properties: { contentType: 'application/json', userProperties: attrs },
    });
    expect(await rt.get(ROOM, 'temperature')).toBe(17);
    expect(await rt.get(CLIMATE, 'lastSeen')).toBe(Date.parse('2026-01-01T10:00:00Z'));
  });

  it('takes MQTT 5 user properties as the UTF-8 strings they are (no percent-decoding, unlike HTTP ce-* headers)', async () => {
    const { url, rt } = await start();
    const c = await mqttClient(url, { protocolVersion: 5 });
    const subject = '/org/ä/site/s/building/1/floor/1/unit/a/room/1/sensors/climate';
    // Decoded, "urn:dev:%C3%A4" would be "urn:dev:ä": not a URI-reference, refused.
    const attrs = { specversion: '1.0', id: 'u%201', source: 'urn:dev:%C3%A4', type: 'reading', subject };
    await c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 18, humidity: 50 }), {
      qos: 1,
      properties: { contentType: 'application/json', userProperties: attrs },
    });
    expect(await rt.get(subject, 'latest')).toMatchObject({ temperature: 18 });
    expect(await rt.get(CLIMATE, 'latest')).toBe(null);
  });

  it('sends the QoS 1 PUBACK only once the effect is in the state store', async () => {
    const store = new SlowStore(150);
    const { url } = await start(store);
    const c = await mqttClient(url, { protocolVersion: 4 });
    const t0 = Date.now();
    await c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 22.5, humidity: 40 }), { qos: 1 });
    // The PUBACK is here: the reading must already be committed (not merely applied in memory).
    const stored = await store.load(CLIMATE);
    expect((stored?.values.latest as { temperature: number }).temperature).toBe(22.5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('answers bad input on MQTT 5 with PUBACK reason codes and keeps the connection', async () => {
    const { url, rt } = await start();
    const c = await mqttClient(url, { protocolVersion: 5 });
    const codeOf = (topic: string, payload: string) =>
      c.publishAsync(topic, payload, { qos: 1 }).then(
        () => 0,
        (err: { code?: number }) => err.code,
      );
    expect(await codeOf(topicOf(CLIMATE), '{not json')).toBe(0x99);
    expect(await codeOf(topicOf(CLIMATE), JSON.stringify({ temperature: 'hot' }))).toBe(0x99);
    expect(await codeOf('nowhere/at/all', '{}')).toBe(0x90);
    expect(await codeOf(topicOf(CLIMATE), JSON.stringify({ specversion: '1.0', id: 'x' }))).toBe(0x99);
    await c.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 19, humidity: 40 }), { qos: 1 });
    expect(await rt.get(ROOM, 'temperature')).toBe(19);
    expect(node!.ingestion.deadLetters.counts().total).toBe(4);
  });

  it.skipIf(!hasMosquitto)('takes readings from Debian mosquitto_pub in every payload mode and QoS', async () => {
    const { port, rt } = await start();
    const pub = (args: string[]) =>
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', topicOf(CLIMATE), ...args]);
    await pub(['-V', 'mqttv311', '-q', '1', '-m', JSON.stringify({ temperature: 11, humidity: 40 })]);
    expect(await rt.get(ROOM, 'temperature')).toBe(11);
    await pub([
      '-V',
      'mqttv311',
      '-q',
      '0',
      '-m',
      JSON.stringify(cloudEvent(CLIMATE, { temperature: 12, humidity: 40 }, 'm1')),
    ]);
    await waitFor(async () => (await rt.get(ROOM, 'temperature')) === 12);
    await pub([
      '-V',
      'mqttv5',
      '-q',
      '1',
      '-D',
      'publish',
      'content-type',
      'application/cloudevents+json',
      '-m',
      JSON.stringify(cloudEvent(CLIMATE, { temperature: 13, humidity: 40 }, 'm2')),
    ]);
    expect(await rt.get(ROOM, 'temperature')).toBe(13);
    const binary = ['-D', 'publish', 'content-type', 'application/json'];
    for (const [k, v] of Object.entries({ specversion: '1.0', id: 'm3', source: 'urn:dev:cli', type: 'reading' }))
      binary.push('-D', 'publish', 'user-property', k, v);
    await pub(['-V', 'mqttv5', '-q', '1', ...binary, '-m', JSON.stringify({ temperature: 14, humidity: 40 })]);
    expect(await rt.get(ROOM, 'temperature')).toBe(14);
    await pub([
      '-V',
      'mqttv5',
      '-q',
      '0',
      ...binary.map((a) => (a === 'm3' ? 'm4' : a)),
      '-m',
      JSON.stringify({ temperature: 15, humidity: 40 }),
    ]);
    await waitFor(async () => (await rt.get(ROOM, 'temperature')) === 15);
  });
});

/** A memory store whose commits take `delayMs`, so an early PUBACK would be caught. */
class SlowStore extends MemoryStateStore {
  constructor(private readonly delayMs: number) {
    super();
  }
  override async write(batch: readonly StateWrite[]): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.write(batch);
  }
}
