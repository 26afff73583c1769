import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { generateFleet } from '../../models/fleet.js';
import { publishEvents } from '../../src/recording/mqtt-publish.js';
import { waitFor } from '../support/mqtt.js';

let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('generator over MQTT', () => {
  it("publishes a generated fleet to a node's embedded broker at the chosen rate", async () => {
    node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }), mqtt: { port: 0 } });
    const fleet = { seed: 3, sites: 1, buildings: 1, floors: 2, units: 2, rooms: 5, events: 2000 };
    const r = await publishEvents(node.ingestion.mqtt!.url, generateFleet(fleet), { rate: 10_000, qos: 1 });
    expect(r.published).toBe(2000);
    expect(r.wallMs).toBeGreaterThan(150); // paced: 2000 events at 10k/s take ~200 ms
    const rt = node.runtime;
    await waitFor(() => rt.stats().events === 2000, 10_000, 'all events ingested');
    const last = new Map<string, unknown>();
    for (const e of [...generateFleet(fleet)].flat()) last.set(e.subject, e.data);
    for (const [subject, data] of [...last].slice(0, 20)) expect(await rt.get(subject, 'latest')).toEqual(data);
  });
});
