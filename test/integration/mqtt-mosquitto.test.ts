import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import {
  CLIMATE,
  closeClients,
  cloudEvent,
  FIRE,
  hasMosquitto,
  mqttClient,
  OCCUPANCY,
  ROOM,
  run,
  SITE,
  startMosquitto,
  subscribeCli,
  topicOf,
  waitFor,
  type Mosquitto,
} from '../support/mqtt.js';

const nodes: TwinflowNode[] = [];
let mosquitto: Mosquitto | undefined;
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await closeClients();
  for (const n of nodes.splice(0)) await n.close();
  await mosquitto?.stop();
  mosquitto = undefined;
});

async function start(mqtt: { subscription?: string; protocolVersion?: 4 | 5 } = {}) {
  mosquitto ??= await startMosquitto();
  const node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    mqtt: { url: mosquitto.url, clientId: `tf-${randomUUID()}`, ...mqtt },
  });
  nodes.push(node);
  return node;
}

const temperature = (node: TwinflowNode) => node.runtime.get(ROOM, 'temperature');

describe.skipIf(!hasMosquitto)('external broker mode against a real mosquitto', () => {
  it('ingests mqtt.js publishes in every payload mode at QoS 0 and 1 (runtime on MQTT 5 and 3.1.1)', async () => {
    for (const protocolVersion of [5, 4] as const) {
      const node = await start({ protocolVersion });
      const v4 = await mqttClient(mosquitto!.url, { protocolVersion: 4 });
      const v5 = await mqttClient(mosquitto!.url, { protocolVersion: 5 });
      const id = (s: string) => `${protocolVersion}-${s}`;
      await v4.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 10, humidity: 40 }), { qos: 1 });
      await waitFor(async () => (await temperature(node)) === 10, 5000, 'plain QoS 1');
      await v4.publishAsync(topicOf(OCCUPANCY), JSON.stringify({ occupied: true }), { qos: 0 });
      await waitFor(async () => (await node.runtime.get(ROOM, 'occupied')) === true, 5000, 'plain QoS 0');
      await v4.publishAsync(
        topicOf(CLIMATE),
        JSON.stringify(cloudEvent(CLIMATE, { temperature: 11, humidity: 40 }, id('s1'))),
        { qos: 1 },
      );
      await waitFor(async () => (await temperature(node)) === 11, 5000, 'structured 3.1.1');
      await v5.publishAsync(
        topicOf(CLIMATE),
        JSON.stringify(cloudEvent(CLIMATE, { temperature: 12, humidity: 40 }, id('s2'))),
        { qos: 0, properties: { contentType: 'application/cloudevents+json' } },
      );
      await waitFor(async () => (await temperature(node)) === 12, 5000, 'structured 5');
      if (protocolVersion === 5) {
        // Binary mode needs MQTT 5 end to end: the broker forwards user properties only to MQTT 5 subscribers.
        const props = {
          contentType: 'application/json',
          userProperties: { specversion: '1.0', id: id('b1'), source: 'urn:dev:2', type: 'reading' },
        };
        await v5.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 13, humidity: 40 }), {
          qos: 1,
          properties: props,
        });
        await waitFor(async () => (await temperature(node)) === 13, 5000, 'binary 5');
      }
      await node.close();
      nodes.length = 0;
      await closeClients();
    }
  });

  it('ingests mosquitto_pub readings (3.1.1 and 5, QoS 0 and 1, plain, structured and binary)', async () => {
    const node = await start();
    const pub = (args: string[]) =>
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto!.port), '-t', topicOf(CLIMATE), ...args]);
    const until = (t: number) => waitFor(async () => (await temperature(node)) === t, 5000, `temperature ${t}`);
    await pub(['-V', 'mqttv311', '-q', '0', '-m', JSON.stringify({ temperature: 21, humidity: 40 })]);
    await until(21);
    await pub([
      '-V',
      'mqttv311',
      '-q',
      '1',
      '-m',
      JSON.stringify(cloudEvent(CLIMATE, { temperature: 22, humidity: 40 }, 'c1')),
    ]);
    await until(22);
    const binary = ['-D', 'publish', 'content-type', 'application/json'];
    for (const [k, v] of Object.entries({ specversion: '1.0', id: 'c2', source: 'urn:dev:cli', type: 'reading' }))
      binary.push('-D', 'publish', 'user-property', k, v);
    await pub(['-V', 'mqttv5', '-q', '1', ...binary, '-m', JSON.stringify({ temperature: 23, humidity: 40 })]);
    await until(23);
  });

  it('publishes the evacuation signal to mosquitto, where mosquitto_sub sees it', async () => {
    const node = await start();
    const cli = subscribeCli(mosquitto!.port, 'org/contoso/site/berlin/signals/#');
    stops.push(cli.stop);
    await cli.ready;
    const dev = await mqttClient(mosquitto!.url);
    await dev.publishAsync(topicOf(FIRE), JSON.stringify({ alarm: true }), { qos: 1 });
    await waitFor(
      () => cli.lines.some((l) => l.startsWith('org/contoso/site/berlin/signals/evacuation ')),
      5000,
      'mosquitto_sub line',
    );
    const line = cli.lines.find((l) => l.includes('/signals/evacuation '))!;
    expect(JSON.parse(line.slice(line.indexOf(' ') + 1))).toMatchObject({
      specversion: '1.0',
      type: 'evacuation',
      subject: SITE,
    });
    // The runtime does not ingest its own output (no-local, and the signals namespace is skipped).
    expect(node.ingestion.deadLetters.counts().total).toBe(0);
  });

  it('logs in with the user and password of its URL; a refused login fails the start, and no log line shows the password', async () => {
    mosquitto = await startMosquitto({ twinflow: 'right-pw-1', device: 'dev-pw' });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const url = (password: string): string => mosquitto!.url.replace('mqtt://', `mqtt://twinflow:${password}@`);
    const refused = startNode({ models: buildingModels(), port: 0, logger, mqtt: { url: url('wrong-pw-2') } });
    await expect(refused).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    const node = await startNode({ models: buildingModels(), port: 0, logger, mqtt: { url: url('right-pw-1') } });
    nodes.push(node);
    const dev = await mqttClient(mosquitto.url.replace('mqtt://', 'mqtt://device:dev-pw@'));
    await dev.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 17, humidity: 40 }), { qos: 1 });
    await waitFor(async () => (await temperature(node)) === 17, 5000, 'reading through a broker that needs a login');
    const logged = lines.join('');
    expect(logged).toContain('external MQTT broker error');
    expect(logged).toContain('connected to external MQTT broker');
    expect(logged).toContain('twinflow:***@');
    expect(logged).not.toMatch(/wrong-pw-2|right-pw-1/);
  });

  it('shares one subscription between two runtimes (MQTT 5 shared subscription)', async () => {
    const a = await start({ subscription: '$share/twinflow/org/#' });
    const b = await start({ subscription: '$share/twinflow/org/#' });
    const dev = await mqttClient(mosquitto!.url);
    const total = 40;
    for (let i = 0; i < total; i++) {
      const path = `/org/contoso/site/berlin/building/41/floor/3/unit/j/room/${i}/sensors/climate`;
      await dev.publishAsync(topicOf(path), JSON.stringify({ temperature: 20, humidity: 40 }), { qos: 1 });
    }
    await waitFor(() => a.runtime.stats().events + b.runtime.stats().events === total, 5000, 'all events once');
    expect(a.runtime.stats().events).toBeGreaterThan(0);
    expect(b.runtime.stats().events).toBeGreaterThan(0);
  });
});

describe('external broker mode: refused at start', () => {
  it('a broker host name that would make every event source too long fails the start with TWIN_CONFIG_INVALID', async () => {
    const host = Array.from({ length: 4 }, () => 'a'.repeat(60)).join('.') + '.example';
    const refused = startNode({
      models: buildingModels(),
      port: 0,
      logger: pino({ level: 'silent' }),
      mqtt: { url: `mqtt://${host}:1883`, clientId: 'tf-long-host' },
    });
    await expect(refused).rejects.toMatchObject({ code: 'TWIN_CONFIG_INVALID' });
  });
});
