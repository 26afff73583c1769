import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';

const ROOM = 'org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';
let node: TwinflowNode;

async function start() {
  node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }) });
  return node.url;
}
afterEach(async () => node?.close());

async function json(res: Response) {
  return { status: res.status, body: (await res.json()) as any };
}

describe('HTTP API on a real socket', () => {
  it('serves health and readiness', async () => {
    const url = await start();
    expect(await json(await fetch(`${url}/healthz`))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(await fetch(`${url}/readyz`))).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('ingests CloudEvents JSON and reads the twins it changed', async () => {
    const url = await start();
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          specversion: '1.0',
          id: '1',
          source: 'test',
          type: 'reading',
          subject: `/${ROOM}/sensors/occupancy`,
          data: { occupied: true },
        },
        {
          specversion: '1.0',
          id: '2',
          source: 'test',
          type: 'reading',
          subject: `/${ROOM}/sensors/climate`,
          data: { temperature: 21.5, humidity: 40 },
        },
      ]),
    });
    expect(await json(res)).toEqual({
      status: 202,
      body: { accepted: 2, rejected: [], rejectedTotal: 0, rejectedByCode: {}, truncated: false },
    });
    expect(await json(await fetch(`${url}/twins/${ROOM}?lanes=occupied,temperature`))).toEqual({
      status: 200,
      body: { path: `/${ROOM}`, model: 'room', lanes: { occupied: true, temperature: 21.5 } },
    });
  });

  it('reports partially rejected batches per event with stable codes', async () => {
    const url = await start();
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { subject: `/${ROOM}/sensors/occupancy`, data: { occupied: true } },
        { subject: '/nowhere', data: {} },
        { subject: `/${ROOM}/sensors/climate`, data: { temperature: 'hot' } },
      ]),
    });
    const { status, body } = await json(res);
    expect(status).toBe(207);
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'TWIN_NO_ROUTE'],
      [2, 'TWIN_PAYLOAD_REJECTED'],
    ]);
  });

  it('answers bad input with a JSON error and the right status', async () => {
    const url = await start();
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await json(await post('{not json'))).status).toBe(400);
    expect((await json(await post('"just a string"'))).body.code).toBe('TWIN_EVENT_INVALID');
    expect((await json(await post('x'.repeat(2 * 1024 * 1024)))).status).toBe(413);
    expect(await json(await fetch(`${url}/twins/nowhere/x`))).toMatchObject({
      status: 404,
      body: { code: 'TWIN_NO_ROUTE' },
    });
    expect(await json(await fetch(`${url}/twins/org//x`))).toMatchObject({
      status: 400,
      body: { code: 'TWIN_PATH_INVALID' },
    });
    expect(await json(await fetch(`${url}/twins/${ROOM}?lanes=nope`))).toMatchObject({
      status: 404,
      body: { code: 'TWIN_LANE_NOT_FOUND' },
    });
    // The server is still fine afterwards.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('sends commands and answers once they are committed', async () => {
    const url = await start();
    const unit = 'org/contoso/site/berlin/building/41/floor/3/unit/j';
    const send = (body: unknown) =>
      fetch(`${url}/twins/${unit}/commands/secure`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await send(true)).status).toBe(202);
    expect(await json(await fetch(`${url}/twins/${unit}?lanes=secured`))).toMatchObject({
      body: { lanes: { secured: true } },
    });
    expect(await json(await send('yes'))).toMatchObject({ status: 422, body: { code: 'TWIN_PAYLOAD_REJECTED' } });
  });

  it('brings a stored subtree back with POST /twins/{path}/warm', async () => {
    const url = await start();
    await node.runtime.ingest({ subject: `/${ROOM}/sensors/occupancy`, data: { occupied: true } });
    await node.runtime.settle();
    const unit = ROOM.replace(/\/room\/4$/, '');
    const paths = node.runtime.activePaths().filter((p) => p.startsWith(`/${unit}`));
    for (const p of paths) await node.runtime.stop(p);
    const warm = (path: string) => fetch(`${url}/twins/${path}/warm`, { method: 'POST' });
    expect(await json(await warm(unit))).toEqual({ status: 200, body: { prefix: `/${unit}`, started: paths.length } });
    expect(
      node.runtime
        .activePaths()
        .filter((p) => p.startsWith(`/${unit}`))
        .sort(),
    ).toEqual(paths.sort());
    expect(await json(await warm(unit))).toMatchObject({ body: { started: 0 } });
    expect(await json(await warm('org//x'))).toMatchObject({ status: 400, body: { code: 'TWIN_PATH_INVALID' } });
  });
});
