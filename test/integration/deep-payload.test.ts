/**
 * Issue 13, finding 1: ~8 KB of nested JSON killed a node at 2 workers (structured clone
 * overflowed its stack in Worker.postMessage) and, at 0 workers, failed the shared group
 * commit so that unrelated concurrent requests got 503; over MQTT 3.1.1 QoS 1 that failure
 * counted as retryable and the client resent it forever. Every front now bounds nesting
 * before anything is queued (checkPayload), with the same answer on each.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { CLIMATE, closeClients, cloudEvent, mqttClient, ROOM, topicOf } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';

/** `{"a":{"a":…}}` nested `depth` levels: about 6 bytes a level. */
function nested(depth: number): unknown {
  return JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
}
/** A reading the model accepts, with extra data it keeps verbatim in `latest` (so it reaches the store). */
const POISON = { temperature: 21, humidity: 40, meta: nested(4000) };
const UNIT = ROOM.slice(0, ROOM.lastIndexOf('/room/'));

describe.each([2, 0])('#13.1 deeply nested payloads at %i workers (LMDB strict, embedded broker)', (workers) => {
  let node: TwinflowNode;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('tf-deep-');
    node = await startNode({
      models: buildingModels(),
      modelSource: buildingModelSource(),
      workers,
      dataDir: dir,
      durability: 'strict',
      port: 0,
      mqtt: { port: 0 },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await closeClients();
    await node?.close();
  });

  it('#13.1 an 8 KB nested reading over HTTP gets 400 TWIN_PAYLOAD_TOO_DEEP; 40 concurrent valid readings all commit', async () => {
    const body = JSON.stringify(cloudEvent(CLIMATE, POISON, 'deep-http'));
    expect(body.length).toBeLessThan(30_000);
    const post = (e: unknown) =>
      fetch(`${node.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(e),
      });
    const good = Array.from({ length: 40 }, (_, i) =>
      post(
        cloudEvent(
          `${ROOM.replace('/room/4', `/room/${100 + i}`)}/sensors/climate`,
          { temperature: 20 + i / 10, humidity: 40 },
          `ok-${workers}-${i}`,
        ),
      ),
    );
    const bad = await fetch(`${node.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('TWIN_PAYLOAD_TOO_DEEP');
    const statuses = await Promise.all(good.map(async (r) => (await r).status));
    expect(statuses).toEqual(Array(40).fill(202));
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it('#13.1 a nested command body gets 400 and the node stays up', async () => {
    const res = await fetch(`${node.url}/twins${UNIT}/commands/secure`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(POISON),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('TWIN_PAYLOAD_TOO_DEEP');
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it('#13.1 over MQTT: v5 gets PUBACK 0x99, v3.1.1 is acknowledged once (no resend loop), other clients commit', async () => {
    const url = node.ingestion.mqtt!.url;
    const v5 = await mqttClient(url, { protocolVersion: 5 });
    const code = await v5.publishAsync(topicOf(CLIMATE), JSON.stringify(POISON), { qos: 1 }).then(
      () => 0,
      (e: { code?: number }) => e.code,
    );
    expect(code).toBe(0x99);

    const v4 = await mqttClient(url, { protocolVersion: 4, reconnectPeriod: 0 });
    let closed = false;
    v4.on('close', () => (closed = true));
    await v4.publishAsync(topicOf(CLIMATE), JSON.stringify(POISON), { qos: 1 });
    const other = await mqttClient(url, { protocolVersion: 4 });
    await other.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 23.5, humidity: 41 }), { qos: 1 });
    expect(closed).toBe(false);
    expect(v4.connected).toBe(true);
    const room = (await (await fetch(`${node.url}/twins${ROOM}`)).json()) as { lanes: { temperature: number } };
    expect(room.lanes.temperature).toBe(23.5);
  });

  it('#13.1 a programmatic ingest and command with nested data are refused the same way', async () => {
    const report = await node.runtime.ingest([
      { subject: CLIMATE, data: POISON, id: 'deep-api', source: 'test' },
      { subject: CLIMATE, data: { temperature: 24, humidity: 42 }, id: 'fine-api', source: 'test' },
    ]);
    expect(report.accepted).toBe(1);
    expect(report.rejected.map((r) => r.error.code)).toEqual(['TWIN_PAYLOAD_TOO_DEEP']);
    await expect(node.runtime.command(UNIT, 'secure', POISON)).rejects.toMatchObject({ code: 'TWIN_PAYLOAD_TOO_DEEP' });
    // A function cannot cross to a worker or into the store: refused, not a crash.
    const fn = await node.runtime.ingest({ subject: CLIMATE, data: { f: () => 1 }, id: 'fn-api', source: 'test' });
    expect(fn.rejected.map((r) => r.error.code)).toEqual(['TWIN_EVENT_INVALID']);
    expect(await node.runtime.get(ROOM, 'temperature')).toBe(24);
  });
});
