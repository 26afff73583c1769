/**
 * Issue 13 (bad input is never amplified): MQTT 3.1.1 has no negative PUBACK, so a payload
 * ingest refused is acknowledged; it must still not be forwarded to subscribers (a `#`
 * subscriber would otherwise receive every malformed or oversized reading a device sends).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { CLIMATE, closeClients, mqttClient, topicOf } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';

let node: TwinflowNode;
beforeAll(async () => {
  node = await startNode({
    models: buildingModels(),
    modelSource: buildingModelSource(),
    workers: 2,
    dataDir: tempDir('tf-fwd-'),
    port: 0,
    mqtt: { port: 0 },
    logger: pino({ level: 'silent' }),
  });
});
afterAll(async () => {
  await closeClients();
  await node.close();
});

describe('refused MQTT input is acknowledged but not forwarded', () => {
  it.each([4, 5] as const)(
    '#13.6 a # subscriber (v%i publisher) gets the valid reading, not the refused ones',
    async (version) => {
      const url = node.ingestion.mqtt!.url;
      const sub = await mqttClient(url, { protocolVersion: 4 });
      const got: string[] = [];
      sub.on('message', (topic, payload) => topic === topicOf(CLIMATE) && got.push(payload.toString())); // (not the node's derived events)
      await sub.subscribeAsync('org/#', { qos: 0 });
      const pub = await mqttClient(url, { protocolVersion: version });
      const bad = [
        '{"temperature": ',
        JSON.stringify({ temperature: 'hot' }),
        '{"a":'.repeat(100) + '1' + '}'.repeat(100),
      ];
      for (const payload of bad) await pub.publishAsync(topicOf(CLIMATE), payload, { qos: 1 }).catch(() => undefined);
      const good = JSON.stringify({ temperature: 22.5, humidity: 40, marker: version });
      await pub.publishAsync(topicOf(CLIMATE), good, { qos: 1 });
      const deadline = Date.now() + 5000;
      while (!got.includes(good) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got, JSON.stringify(got.map((g) => g.slice(0, 40)))).toEqual([good]);
    },
  );
});
