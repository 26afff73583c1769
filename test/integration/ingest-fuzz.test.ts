import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { CLIMATE, closeClients, mqttClient, ROOM, topicOf } from '../support/mqtt.js';

let node: TwinflowNode;
beforeAll(async () => {
  node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    mqtt: { port: 0, maxPayloadBytes: 4096 },
  });
});
afterAll(async () => {
  await closeClients();
  await node.close();
});

const segment = fc.oneof(
  fc.constantFrom(
    'org',
    'contoso',
    'site',
    'berlin',
    'building',
    '41',
    'floor',
    'room',
    'sensors',
    'climate',
    'signals',
    'commands',
    '',
    '..',
    '$SYS',
    'é',
    ' ',
  ),
  fc.string({ maxLength: 8 }).filter((s) => !s.includes('+') && !s.includes('#') && !s.includes('\u0000')),
);
const topic = fc
  .oneof(
    fc.array(segment, { minLength: 1, maxLength: 16 }).map((s) => s.join('/')),
    fc.constant(topicOf(CLIMATE)),
  )
  .filter((t) => t.length > 0);
const ceLike = fc.record(
  {
    specversion: fc.oneof(fc.constant('1.0'), fc.jsonValue()),
    id: fc.oneof(fc.string(), fc.jsonValue()),
    source: fc.oneof(fc.string(), fc.jsonValue()),
    type: fc.oneof(fc.constant('reading'), fc.string()),
    subject: fc.oneof(fc.constant(CLIMATE), fc.string()),
    time: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
      fc.integer(),
    ),
    data: fc.jsonValue(),
    data_base64: fc.string(),
  },
  { requiredKeys: [] },
);
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  ceLike.map((v) => Buffer.from(JSON.stringify(v))),
  fc.constant(Buffer.alloc(5000, 0x20)),
);
const userProperties = fc.option(
  fc.dictionary(
    fc.constantFrom('specversion', 'id', 'source', 'type', 'subject', 'time', 'x'),
    fc.string({ maxLength: 12 }),
    { minKeys: 1, maxKeys: 5 },
  ),
  { nil: undefined },
); // mqtt.js 5.16 never completes a publish with an empty userProperties object
const contentType = fc.option(
  fc.constantFrom('application/json', 'application/cloudevents+json', 'text/plain', 'application/octet-stream', ''),
  { nil: undefined },
);

describe('fuzzing the fronts finds no crash', () => {
  it('survives random topics and payloads over MQTT 3.1.1 and 5, QoS 0 and 1', async () => {
    const v4 = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 4 });
    const v5 = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 5 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            topic,
            payload,
            v5: fc.boolean(),
            qos: fc.constantFrom<0 | 1>(0, 1),
            userProperties,
            contentType,
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (msgs) => {
          await Promise.all(
            msgs.map((m) => {
              const properties = m.v5
                ? {
                    ...(m.userProperties && { userProperties: m.userProperties }),
                    ...(m.contentType !== undefined && { contentType: m.contentType }),
                  }
                : undefined;
              // Rejections (reason codes, client-side topic checks) are answers, not crashes.
              return (m.v5 ? v5 : v4)
                .publishAsync(m.topic, m.payload, { qos: m.qos, ...(properties && { properties }) })
                .catch(() => undefined);
            }),
          );
        },
      ),
      { numRuns: 150 },
    );
    expect(v4.connected && v5.connected).toBe(true);
    await node.ingestion.queue.drained();
    await v4.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 20.25, humidity: 40 }), { qos: 1 });
    expect(await node.runtime.get(ROOM, 'temperature')).toBe(20.25);
  });

  it('survives random bodies, headers and content types on POST /events', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          payload,
          fc.array(ceLike, { maxLength: 4 }).map((a) => Buffer.from(JSON.stringify(a))),
        ),
        fc.constantFrom(
          'application/json',
          'application/cloudevents+json',
          'application/cloudevents-batch+json',
          'text/plain',
          'application/xml',
        ),
        fc.option(
          fc.dictionary(
            fc.constantFrom('ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-subject', 'ce-time'),
            fc.stringMatching(/^[ -~]{0,12}$/),
            { maxKeys: 6 },
          ),
          { nil: {} },
        ),
        async (body, type, headers) => {
          const res = await fetch(`${node.url}/events`, {
            method: 'POST',
            headers: { 'content-type': type, ...headers },
            body,
          });
          expect(res.status).toBeLessThan(500);
          const json = (await res.json()) as { code?: string; accepted?: number };
          expect(json.code !== undefined || json.accepted !== undefined).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
