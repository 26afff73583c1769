/**
 * Query parameters of the twin routes that were accepted but meant nothing (bug bash):
 * reversed or empty times, lanes no model has, `under` with `filter`, and warming the root.
 * Each answers per docs/http-api.md.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';

const B41 = '/org/contoso/site/berlin/building/41';
const ROOM = `${B41}/floor/3/unit/j/room/4`;
const FLOOR = `${B41}/floor/3`;
let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

/** A node whose room 4 (and the floors, units … above it) has state. */
async function start(): Promise<string> {
  node = await startNode({ models: buildingModels(), port: 0, journal: true, logger: pino({ level: 'silent' }) });
  const report = await node.runtime.ingest([
    { subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } },
    { subject: `${ROOM}/sensors/climate`, data: { temperature: 23, humidity: 40 } },
  ]);
  expect(report.rejected).toEqual([]);
  await node.runtime.settle();
  return node.url;
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('GET /twins/{path} times', () => {
  it('refuses a history whose from is after its to, and empty times', async () => {
    const url = await start();
    const reversed = await get(`${url}/twins${ROOM}/history?from=10&to=5`);
    expect(reversed).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });
    expect(reversed.body.message).toMatch(/"from" must be <= "to"/);
    // from = to is a valid (one-instant) range.
    expect(await get(`${url}/twins${ROOM}/history?from=5&to=5`)).toMatchObject({ status: 200, body: { entries: [] } });
    expect((await get(`${url}/twins${ROOM}/history`)).body.entries.length).toBeGreaterThan(0);

    for (const q of ['at=', 'at=%20']) {
      expect(await get(`${url}/twins${ROOM}?${q}`)).toMatchObject({
        status: 400,
        body: { code: 'TWIN_QUERY_INVALID', message: expect.stringMatching(/"at" must be/) },
      });
    }
    for (const q of ['from=', 'to=', 'from=1&to=']) {
      expect(await get(`${url}/twins${ROOM}/history?${q}`)).toMatchObject({
        status: 400,
        body: { code: 'TWIN_QUERY_INVALID' },
      });
    }
  });

  it('treats lanes with ?at= like a plain read: an unknown lane is 404', async () => {
    const url = await start();
    const now = Date.now();
    expect(await get(`${url}/twins${ROOM}?at=${now}&lanes=occupied`)).toMatchObject({
      status: 200,
      body: { lanes: { occupied: true } },
    });
    expect(await get(`${url}/twins${ROOM}?at=${now}&lanes=occupied,nope`)).toMatchObject({
      status: 404,
      body: { code: 'TWIN_LANE_NOT_FOUND' },
    });
  });
});

describe('GET /twins lanes, model, under and filter', () => {
  it('refuses a lane none of the queried models has; items of models without a lane omit it', async () => {
    const url = await start();
    const nope = await get(`${url}/twins?under=${B41}&lanes=nope`);
    expect(nope).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID', details: { lanes: ['nope'] } } });
    expect(nope.body.message).toContain('"nope"');
    // `hvac` is a floor lane, not a room lane: with model=room it can never be returned.
    expect(await get(`${url}/twins?model=room&lanes=hvac`)).toMatchObject({
      status: 400,
      body: { code: 'TWIN_QUERY_INVALID' },
    });
    expect(await get(`${url}/twins?model=nope`)).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });

    const mixed = await get(`${url}/twins?model=room,floor&under=${FLOOR}&lanes=temperature,hvac`);
    expect(mixed.status).toBe(200);
    expect(mixed.body.items).toEqual([
      { path: FLOOR, model: 'floor', lanes: { temperature: 23, hvac: 'cool' } },
      { path: ROOM, model: 'room', lanes: { temperature: 23 } },
    ]);
  });

  it('names the first few of a long list of unknown lanes or models and counts the rest, not every one', async () => {
    const url = await start();
    const names = (prefix: string) => Array.from({ length: 1500 }, (_, i) => `${prefix}${i}`).join(',');
    const lanes = await get(`${url}/twins?lanes=occupied,${names('x')}`);
    expect(lanes).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });
    expect(lanes.body.message).toBe('no lane "x0", "x1", "x2", "x3", "x4" (and 1495 more) in any model');
    expect(lanes.body.details).toEqual({ lanes: ['x0', 'x1', 'x2', 'x3', 'x4'], count: 1500 });
    const models = await get(`${url}/twins?model=room,${names('m')}`);
    expect(models).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });
    expect(models.body.message).toMatch(/^unknown model "m0", "m1", "m2", "m3", "m4" \(and 1495 more\) \(models: /);
    expect(models.body.details).toEqual({ model: ['m0', 'm1', 'm2', 'm3', 'm4'], count: 1500 });
    // A long name is cut too; a short list is named whole.
    const long = await get(`${url}/twins?lanes=${'y'.repeat(5000)}`);
    expect(long.body.message).toBe(`no lane "${'y'.repeat(64)}…" in any model`);
    expect(JSON.stringify(long.body).length).toBeLessThan(400);
    const two = await get(`${url}/twins?model=room&lanes=nope,hvac`);
    expect(two.body).toMatchObject({
      message: 'no lane "nope", "hvac" in models room',
      details: { lanes: ['nope', 'hvac'] },
    });
  });

  it('refuses under and filter together, and empty ones', async () => {
    const url = await start();
    const both = await get(`${url}/twins?under=${B41}&filter=${encodeURIComponent(`${B41}/**`)}`);
    expect(both).toMatchObject({
      status: 400,
      body: { code: 'TWIN_QUERY_INVALID', message: expect.stringMatching(/"under" or "filter", not both/) },
    });
    expect(await get(`${url}/twins?under=`)).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });
    expect(await get(`${url}/twins?filter=`)).toMatchObject({ status: 400, body: { code: 'TWIN_QUERY_INVALID' } });
    // Either one alone still works.
    expect(
      (await get(`${url}/twins?filter=${encodeURIComponent(`${B41}/floor/*`)}`)).body.items.map(
        (t: { path: string }) => t.path,
      ),
    ).toEqual([FLOOR]);
  });
});

describe('POST /twins/warm', () => {
  it('warms every stored twin, as `serve --warm /` does', async () => {
    const url = await start();
    const paths = node!.runtime.activePaths();
    for (const p of paths) await node!.runtime.stop(p);
    expect(node!.runtime.activePaths()).toEqual([]);
    const res = await fetch(`${url}/twins/warm`, { method: 'POST' });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 200,
      body: { prefix: '/', started: paths.length },
    });
    expect(node!.runtime.activePaths().sort()).toEqual(paths.sort());

    // A POST to a twin that is neither a command nor a warm names the routes that exist.
    const other = await fetch(`${url}/twins${ROOM}`, { method: 'POST' });
    expect({ status: other.status, body: await other.json() }).toMatchObject({
      status: 404,
      body: { code: 'TWIN_ROUTE_NOT_FOUND', message: expect.stringContaining('POST /twins/warm') },
    });
    const doc = await get(`${url}/openapi.json`);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/twins/warm', '/twins/{path}/warm', '/twins/{path}/history']),
    );
  });
});
