/**
 * Acknowledgement semantics (issue 14): an ack (HTTP 202, MQTT PUBACK) means the event's
 * own twin applied it, durably; parents on other shards follow eventually. `GET /settled`
 * and `Runtime.settle()` wait until they did, at 0 and 2 worker threads.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { command, defineTwin, startNode, value, type TwinflowNode } from '../../src/index.js';
import { closeClients, FIRE, mqttClient, OCCUPANCY, SITE, topicOf } from '../support/mqtt.js';

const silent = pino({ level: 'silent' });
const ORG = '/org/contoso';
const BUILDING = '/org/contoso/site/berlin/building/41';
const FLOOR = `${BUILDING}/floor/3`;
/** A second building of the site. At 2 workers, building 41 and the org are on one worker, building 42 and the site on the other. */
const FIRE_42 = '/org/contoso/site/berlin/building/42/floor/1/unit/a/room/1/sensors/fire';

let node: TwinflowNode | undefined;
afterEach(async () => {
  await closeClients();
  await node?.close();
  node = undefined;
});

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function postEvents(url: string, events: unknown[]): Promise<number> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  return res.status;
}

describe.each([0, 2])('acknowledged, then settled (%i workers)', (workers) => {
  async function start(mqtt = false): Promise<TwinflowNode> {
    node = await startNode({
      models: buildingModels(),
      port: 0,
      logger: silent,
      workers,
      modelSource: workers > 0 ? buildingModelSource() : undefined,
      mqtt: mqtt ? { port: 0 } : undefined,
    });
    return node;
  }

  it('after POST /events answered 202, GET /settled answers once the floor, building, site and org reflect the events', async () => {
    const { url } = await start();
    expect(
      await postEvents(url, [
        { subject: OCCUPANCY, type: 'reading', data: { occupied: true, count: 2 } },
        { subject: FIRE, type: 'reading', data: { alarm: true } },
        { subject: FIRE_42, type: 'reading', data: { alarm: true } },
      ]),
    ).toBe(202);
    const settled = await get(`${url}/settled`);
    expect(settled).toMatchObject({ status: 200, body: { settled: true } });
    expect(settled.body.waitedMs).toBeGreaterThanOrEqual(0);
    expect((await get(`${url}/twins${FLOOR}?lanes=occupiedRooms,alarm`)).body.lanes).toEqual({
      occupiedRooms: 1,
      alarm: true,
    });
    expect((await get(`${url}/twins${BUILDING}?lanes=occupiedRooms,alarm`)).body.lanes).toEqual({
      occupiedRooms: 1,
      alarm: true,
    });
    expect((await get(`${url}/twins${SITE}?lanes=alarm,alarmSources`)).body.lanes).toEqual({
      alarm: true,
      alarmSources: [FIRE, FIRE_42].sort(),
    });
    expect((await get(`${url}/twins${ORG}?lanes=alarm,sites`)).body.lanes).toEqual({
      alarm: true,
      sites: { [SITE]: true },
    });
  });

  it('after MQTT PUBACKs, GET /settled serves publishers too; Runtime.settle() does the same from code', async () => {
    const n = await start(true);
    const client = await mqttClient(n.ingestion.mqtt!.url);
    await client.publishAsync(topicOf(FIRE), JSON.stringify({ alarm: true }), { qos: 1 }); // resolves on the PUBACK
    expect((await get(`${n.url}/settled?timeout=20000`)).status).toBe(200);
    expect(await n.runtime.get(SITE, 'alarm')).toBe(true);
    expect(await n.runtime.get(ORG, 'alarm')).toBe(true);

    await n.runtime.ingest({ subject: FIRE, type: 'reading', data: { alarm: false } });
    await n.runtime.settle();
    expect(await n.runtime.read(SITE, ['alarm', 'alarmSources'])).toMatchObject({
      lanes: { alarm: false, alarmSources: [] },
    });
    expect(await n.runtime.get(ORG, 'sites')).toEqual({ [SITE]: false });
    // A caller that gave up stops the waiting (GET /settled aborts it when its last request times out).
    if (workers > 0) await expect(n.runtime.settle(AbortSignal.abort())).rejects.toThrow(/abort/i);
  });
});

/** Twins that keep commanding themselves until told to stop: a node that never becomes quiet. */
const pinger = defineTwin({
  name: 'pinger',
  route: '/pinger/:id',
  lanes: { running: value(false), pings: value(0), start: command<boolean>(), ping: command<boolean>() },
  onCommand: {
    start: (ctx, on) => {
      ctx.lanes.running.set(on);
      if (on) ctx.command(ctx.path, 'ping', true);
    },
    ping: (ctx) => {
      if (!ctx.lanes.running.get()) return;
      ctx.lanes.pings.set(ctx.lanes.pings.get() + 1);
      ctx.command(ctx.path, 'ping', true);
    },
  },
});

describe('GET /settled bounds', () => {
  it('answers 503 TWIN_NOT_SETTLED when traffic keeps the node busy past the timeout, and 400 for an unreadable timeout', async () => {
    node = await startNode({ models: [pinger], port: 0, logger: silent });
    expect((await get(`${node.url}/settled?timeout=0`)).body.code).toBe('TWIN_QUERY_INVALID');
    expect((await get(`${node.url}/settled?timeout=soon`)).status).toBe(400);
    await node.runtime.command('/pinger/1', 'start', true);
    const busy = await get(`${node.url}/settled?timeout=150`);
    expect(busy).toMatchObject({ status: 503, body: { code: 'TWIN_NOT_SETTLED', details: { timeoutMs: 150 } } });
    await node.runtime.command('/pinger/1', 'start', false);
    expect((await get(`${node.url}/settled`)).status).toBe(200);
    expect(await node.runtime.get('/pinger/1', 'pings')).toBeGreaterThan(0);
  });
});
