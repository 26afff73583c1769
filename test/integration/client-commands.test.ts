/**
 * Network clients command command lanes; they may set a value lane only when its model
 * declared it `writable`. A computed value (a unit's mean temperature, a site's alarm)
 * must not be overwritable by any HTTP or WARP client.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { defineTwin, startNode, value, type TwinflowNode } from '../../src/index.js';
import { rawClient, UNIT, warpNode } from '../support/warp.js';

const panel = defineTwin({
  name: 'panel',
  route: '/panel/:id',
  lanes: { setpoint: value<number>(20, { writable: true }), reading: value<number | null>(null) },
});

let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function command(url: string, path: string, lane: string, body: unknown): Promise<Response> {
  return fetch(`${url}/twins${path}/commands/${lane}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('client commands', () => {
  it('over HTTP: a computed value lane is refused with 400 and stays as it was; a command lane works', async () => {
    node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }) });
    await node.runtime.ingest({ subject: `${UNIT}/room/4/sensors/climate`, data: { temperature: 21.5, humidity: 40 } });
    const refused = await command(node.url, UNIT, 'temperature', { x: 1 });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe('TWIN_LANE_KIND');
    expect(body.message).toMatch(/writable/);
    expect(await node.runtime.get(UNIT, 'temperature')).toBe(21.5);
    expect((await command(node.url, UNIT, 'secured', 'garbage')).status).toBe(400); // the secure command's parse is not bypassed
    expect((await command(node.url, UNIT, 'secure', true)).status).toBe(202);
    expect(await node.runtime.get(UNIT, 'secured')).toBe(true);
  });

  it('over HTTP: a value lane declared writable takes a client command; server-side code may set any value lane', async () => {
    node = await startNode({ models: [panel], port: 0, logger: pino({ level: 'silent' }) });
    expect((await command(node.url, '/panel/p1', 'setpoint', 22.5)).status).toBe(202);
    expect(await node.runtime.get('/panel/p1', 'setpoint')).toBe(22.5);
    expect((await command(node.url, '/panel/p1', 'reading', 99)).status).toBe(400);
    await node.runtime.command('/panel/p1', 'reading', 19.5); // trusted code
    expect(await node.runtime.get('/panel/p1', 'reading')).toBe(19.5);
  });

  it('over WARP: a command to a computed value lane is answered @unlinked and changes nothing', async () => {
    const warp = await warpNode();
    const c = await rawClient(warp.ws);
    c.send(`@command(node:"/org/contoso",lane:alarm)true`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked(node:"/org/contoso",lane:alarm)')));
    expect(c.messages.find((x) => x.startsWith('@unlinked'))).toMatch(/TWIN_LANE_KIND/);
    expect(await warp.runtime.get('/org/contoso', 'alarm')).toBe(false);
  });
});
