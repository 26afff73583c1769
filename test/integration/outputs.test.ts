import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP } from 'cloudevents';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { command, defineTwin, startNode, value, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { decodeStructured } from '../../src/node/ingest/cloudevent.js';
import { CLIMATE, closeClients, FIRE, hasMosquitto, mqttClient, SITE, subscribeCli, waitFor } from '../support/mqtt.js';

interface Hit {
  headers: IncomingMessage['headers'];
  body: string;
}

let node: TwinflowNode | undefined;
const servers: Server[] = [];
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await closeClients();
  await node?.close();
  node = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A real webhook receiver on port 0; `status` picks the answer per request number. */
async function webhook(status: (n: number) => number = () => 200): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(status(hits.length)).end();
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, hits };
}

async function start(extra: Partial<NodeOptions> = {}) {
  node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    mqtt: { port: 0 },
    ...extra,
  });
  return node;
}

describe('outputs: derived events to MQTT and webhooks', () => {
  it('delivers the evacuation CloudEvent to webhooks (structured and binary) and to MQTT subscribers', async () => {
    const structured = await webhook();
    const binary = await webhook();
    const n = await start({ outputs: { webhooks: [structured.url, { url: binary.url, mode: 'binary' }] } });
    const port = n.ingestion.mqtt!.port!;
    const sub = await mqttClient(n.ingestion.mqtt!.url);
    const seen: { topic: string; event: any }[] = [];
    sub.on('message', (topic, payload) => seen.push({ topic, event: JSON.parse(payload.toString()) }));
    await sub.subscribeAsync('org/#', { qos: 1 });
    const cli = hasMosquitto ? subscribeCli(port, 'org/contoso/site/berlin/signals/#') : null;
    if (cli) stops.push(cli.stop);
    await cli?.ready;

    await n.runtime.ingest({ subject: FIRE, data: { alarm: true, smoke: 0.9 } });
    await waitFor(() => structured.hits.length >= 1 && binary.hits.length >= 1, 5000, 'webhook deliveries');
    const s = structured.hits[0]!;
    expect(s.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const event = HTTP.toEvent({ headers: s.headers, body: s.body }) as any;
    expect(event).toMatchObject({
      type: 'evacuation',
      subject: SITE,
      specversion: '1.0',
      data: { alarmSources: [FIRE] },
    });
    const b = binary.hits[0]!;
    expect(b.headers).toMatchObject({
      'ce-type': 'evacuation',
      'ce-subject': SITE,
      'ce-specversion': '1.0',
      'content-type': 'application/json',
    });
    expect(JSON.parse(b.body)).toEqual({ alarmSources: [FIRE] });

    await waitFor(
      () => seen.some((m) => m.topic === 'org/contoso/site/berlin/signals/evacuation'),
      5000,
      'MQTT evacuation',
    );
    expect(seen.find((m) => m.topic.endsWith('/signals/evacuation'))!.event).toMatchObject({
      type: 'evacuation',
      subject: SITE,
    });
    if (cli) {
      await waitFor(
        () => cli.lines.some((l) => l.startsWith('org/contoso/site/berlin/signals/evacuation ')),
        5000,
        'mosquitto_sub line',
      );
      const line = cli.lines.find((l) => l.includes('/signals/evacuation '))!;
      expect(JSON.parse(line.slice(line.indexOf(' ') + 1))).toMatchObject({ type: 'evacuation', subject: SITE });
    }
  });

  it('sends a non-ASCII twin path as the same URI-reference source to MQTT subscribers as to webhooks', async () => {
    const hook = await webhook();
    const n = await start({ outputs: { webhooks: [hook.url] } });
    const sub = await mqttClient(n.ingestion.mqtt!.url);
    const seen: { topic: string; event: any }[] = [];
    sub.on('message', (topic, payload) => seen.push({ topic, event: JSON.parse(payload.toString()) }));
    await sub.subscribeAsync('org/#', { qos: 1 });
    const site = '/org/contoso/site/münchen 🏭';
    await n.runtime.ingest({ subject: `${site}/building/1/floor/1/unit/a/room/1/sensors/fire`, data: { alarm: true } });
    await waitFor(
      () => hook.hits.length >= 1 && seen.some((m) => m.topic.endsWith('/signals/evacuation')),
      5000,
      'evacuation on the webhook and on MQTT',
    );
    const mqtt = seen.find((m) => m.topic.endsWith('/signals/evacuation'))!;
    expect(mqtt.topic).toBe('org/contoso/site/münchen 🏭/signals/evacuation'); // topics are UTF-8: kept as they are
    expect(mqtt.event).toMatchObject({
      type: 'evacuation',
      subject: site,
      source: '/org/contoso/site/m%C3%BCnchen%20%F0%9F%8F%AD',
    });
    expect(mqtt.event.source).toBe(JSON.parse(hook.hits[0]!.body).source);
    // What a CloudEvents receiver (this node's own decoder) takes, with the path readable back.
    expect(decodeStructured(mqtt.event)).toMatchObject({ type: 'evacuation', source: mqtt.event.source });
    expect(decodeURIComponent(mqtt.event.source)).toBe(site);
  });

  it('publishes hvac.adjust to <floor>/commands/hvac', async () => {
    const n = await start();
    const sub = await mqttClient(n.ingestion.mqtt!.url);
    const topics: string[] = [];
    sub.on('message', (topic) => topics.push(topic));
    await sub.subscribeAsync('org/+/site/+/building/+/floor/+/commands/#', { qos: 1 });
    await n.runtime.ingest({ subject: CLIMATE, data: { temperature: 30, humidity: 40 } });
    await waitFor(
      () => topics.includes('org/contoso/site/berlin/building/41/floor/3/commands/hvac'),
      5000,
      'hvac command',
    );
  });

  it('retries a failing webhook with backoff, then dead-letters what keeps failing', async () => {
    const flaky = await webhook((n) => (n <= 2 ? 503 : 200));
    const broken = await webhook(() => 500);
    const n = await start({
      mqtt: undefined,
      outputs: { webhooks: [flaky.url, broken.url], queue: { baseDelayMs: 10, maxAttempts: 3 } },
    });
    await n.runtime.ingest({ subject: FIRE, data: { alarm: true } });
    await n.ingestion.outputs.idle();
    expect(flaky.hits.length).toBe(3);
    expect(broken.hits.length).toBe(3);
    const stats = n.ingestion.outputs.stats();
    expect(stats[`webhook ${flaky.url}`]).toMatchObject({ delivered: 1, retries: 2, deadLettered: 0 });
    expect(stats[`webhook ${broken.url}`]).toMatchObject({ delivered: 0, deadLettered: 1 });
    const res = (await (await fetch(`${n.url}/dead-letters?origin=output`)).json()) as any;
    expect(res.items).toHaveLength(1);
    expect(res.items[0]).toMatchObject({
      origin: 'output',
      code: 'TWIN_OUTPUT_FAILED',
      where: `webhook ${broken.url}`,
      event: { type: 'evacuation', subject: SITE },
    });
  });

  it('lets a twin command publish to its device command topic (command.<name> events)', async () => {
    const thermostat = defineTwin({
      name: 'thermostat',
      route: '/org/:org/device/:device',
      lanes: { setpoint: value<number | null>(null), set: command<number>({ parse: (v) => Number(v) }) },
      onCommand: {
        set(ctx, v) {
          ctx.lanes.setpoint.set(v);
          ctx.emit('command.setpoint', { value: v });
        },
      },
    });
    node = await startNode({
      models: [thermostat],
      port: 0,
      logger: pino({ level: 'silent' }),
      mqtt: { port: 0, topicPrefix: 'tf/' },
    });
    const device = await mqttClient(node.ingestion.mqtt!.url);
    const got: { topic: string; event: any }[] = [];
    device.on('message', (topic, payload) => got.push({ topic, event: JSON.parse(payload.toString()) }));
    await device.subscribeAsync('tf/org/acme/device/t1/commands/#', { qos: 1 });
    await node.runtime.command('/org/acme/device/t1', 'set', 21.5);
    await waitFor(() => got.length > 0, 5000, 'device command');
    expect(got[0]).toMatchObject({
      topic: 'tf/org/acme/device/t1/commands/setpoint',
      event: { type: 'command.setpoint', data: { value: 21.5 } },
    });
  });
});
