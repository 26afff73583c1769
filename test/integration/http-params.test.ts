/**
 * Query parameters of the twin routes that were accepted but meant nothing (bug bash):
 * reversed or empty times, lanes no model has, `under` with `filter`, and warming the root.
 * Each answers per docs/http-api.md.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

/** A 400 TWIN_QUERY_INVALID naming `parameter` in its message and details. */
const refused = (parameter: string) => ({
  status: 400,
  body: {
    code: 'TWIN_QUERY_INVALID',
    message: expect.stringContaining(`"${parameter}"`),
    details: expect.objectContaining({ parameter }),
  },
});

describe('repeated, empty and non-decimal parameters (one rule for every read route)', () => {
  it('refuses a parameter given twice, naming it (it reached the handler as an array: 500)', async () => {
    const url = await start();
    const cases: [string, string][] = [
      [`/twins${ROOM}?lanes=occupied&lanes=temperature`, 'lanes'],
      [`/twins${ROOM}?at=1&at=2`, 'at'],
      [`/twins${ROOM}/history?from=1&from=2`, 'from'],
      [`/twins${ROOM}/history?to=1&to=2`, 'to'],
      [`/twins${ROOM}/history?limit=1&limit=2`, 'limit'],
      [`/twins${ROOM}/history?cursor=a&cursor=b`, 'cursor'],
      ['/twins?model=room&model=floor', 'model'],
      ['/twins?lanes=occupied&lanes=temperature', 'lanes'],
      [`/twins?under=${B41}&under=${FLOOR}`, 'under'],
      [`/twins?filter=${encodeURIComponent(`${B41}/**`)}&filter=%2Fx`, 'filter'],
      ['/twins?limit=1&limit=2', 'limit'],
      ['/twins?cursor=a&cursor=b', 'cursor'],
    ];
    for (const [q, parameter] of cases) expect(await get(url + q), q).toMatchObject(refused(parameter));
    // `where` is the one that repeats: every clause must hold.
    const both = await get(`${url}/twins?model=room&where=occupied%3Dtrue&where=temperature%3E22&lanes=occupied`);
    expect(both).toMatchObject({ status: 200, body: { items: [{ path: ROOM, lanes: { occupied: true } }] } });
    const neither = await get(`${url}/twins?model=room&where=occupied%3Dtrue&where=temperature%3E30`);
    expect(neither).toMatchObject({ status: 200, body: { items: [] } });
  });

  it('refuses empty lists and empty names in them, as it refuses other empty values', async () => {
    const url = await start();
    for (const q of [
      `/twins${ROOM}?lanes=`,
      `/twins${ROOM}?lanes=,,,`,
      `/twins${ROOM}?lanes=occupied,,temperature`,
      `/twins${ROOM}?lanes=occupied,`,
      `/twins${ROOM}?at=${Date.now()}&lanes=,`,
      '/twins?lanes=',
      '/twins?lanes=,',
    ])
      expect(await get(url + q), q).toMatchObject(refused('lanes'));
    for (const q of ['/twins?model=', '/twins?model=,', '/twins?model=room,'])
      expect(await get(url + q), q).toMatchObject(refused('model'));
    expect(await get(`${url}/twins?cursor=`)).toMatchObject({
      status: 400,
      body: { code: 'TWIN_QUERY_INVALID', message: expect.stringMatching(/cursor/) },
    });
    // Leaving it out is "all"; a list of names still works.
    expect((await get(`${url}/twins${ROOM}`)).body.lanes).toMatchObject({ occupied: true, temperature: 23 });
    expect((await get(`${url}/twins${ROOM}?lanes=occupied,temperature`)).body.lanes).toEqual({
      occupied: true,
      temperature: 23,
    });
  });

  it('takes a limit in decimal digits only', async () => {
    const url = await start();
    for (const limit of ['0x10', '1e3', '1.0', '%2B5', '%205', '5%20', '', '-1', '0', '1001', '9'.repeat(30)])
      expect(await get(`${url}/twins?limit=${limit}`), limit).toMatchObject(refused('limit'));
    expect((await get(`${url}/twins?limit=2`)).body.items).toHaveLength(2);
    expect((await get(`${url}/twins?limit=0002`)).body.items).toHaveLength(2);
  });
});

describe('times: epoch ms or RFC 3339, nothing Date.parse would guess at', () => {
  it('refuses text Date.parse read as some date, and times without an offset', async () => {
    const url = await start();
    for (const at of [
      'March%207',
      'foo%202',
      '1.5',
      '-1',
      '%2B1',
      '1e3',
      'NaN',
      'Infinity',
      '99999999999999999999',
      '8640000000000001',
      '2026-02-30T00:00:00Z',
      '2026-03-07T12:00:00',
      '2026-03-07',
      '2026-03-07T12:00Z',
      'Sat%2C%2007%20Mar%202026%2012%3A00%3A00%20GMT',
    ]) {
      expect(await get(`${url}/twins${ROOM}?at=${at}`), at).toMatchObject(refused('at'));
    }
    for (const q of ['from=-5', 'to=March%207', 'from=2001-05-01']) {
      const name = q.slice(0, q.indexOf('='));
      expect(await get(`${url}/twins${ROOM}/history?${q}`), q).toMatchObject(refused(name));
    }
  });

  it('reads epoch ms and RFC 3339 with any offset to the same time', async () => {
    const url = await start();
    const iso = '2026-03-07T12:00:00Z';
    const ms = Date.UTC(2026, 2, 7, 12);
    for (const t of [
      String(ms),
      iso,
      '2026-03-07T13:00:00%2B01:00',
      '2026-03-07T07:00:00.000-05:00',
      '2026-03-07t12:00:00z',
    ]) {
      expect(await get(`${url}/twins${ROOM}/history?from=${t}&to=${t}`), t).toMatchObject({
        status: 200,
        body: { from: ms, to: ms },
      });
    }
    expect((await get(`${url}/twins${ROOM}?at=${encodeURIComponent(iso)}`)).status).toBe(200);
  });

  it('reads the years 0000-0099 as such in a query (Date.UTC made them 1900-1999)', async () => {
    const url = await start();
    const year50 = new Date(0);
    year50.setUTCFullYear(50, 5, 1);
    const history = await get(`${url}/twins${ROOM}/history?from=0050-06-01T00:00:00Z&to=0099-12-31T23:59:59.999Z`);
    expect(history).toMatchObject({ status: 200, body: { from: year50.getTime(), entries: [] } });
    expect(new Date(history.body.to as number).toISOString()).toBe('0099-12-31T23:59:59.999Z');
    expect((await get(`${url}/twins${ROOM}?at=0050-06-01T00:00:00Z`)).status).toBe(200);
    // The state as of year 50 is the one before any journaled turn: a refusal past the bound names the time read.
    const readAt = node!.runtime.readAt.bind(node!.runtime);
    vi.spyOn(node!.runtime, 'readAt').mockImplementation((p, t) => readAt(p, t, { maxEntries: 0 }));
    const at = await get(`${url}/twins${ROOM}?at=0050-06-01T00:00:00Z`);
    expect(at).toMatchObject({ status: 400, body: { details: { at: year50.getTime() } } });
    expect(at.body.message).toContain('as of 0050-06-01T00:00:00.000Z');
    vi.restoreAllMocks();
  });

  it('reads an event time in the years 0000-0099 as such (lastSeen was 1950)', async () => {
    const url = await start();
    const sensor = `${ROOM}/sensors/climate`;
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'y50',
        source: 'test',
        type: 'reading',
        subject: sensor,
        time: '0050-06-01T00:00:00Z',
        data: { temperature: 20, humidity: 40 },
      }),
    });
    expect(res.status).toBe(202);
    const lastSeen = (await get(`${url}/twins${sensor}?lanes=lastSeen`)).body.lanes.lastSeen as number;
    expect(new Date(lastSeen).toISOString()).toBe('0050-06-01T00:00:00.000Z');
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

describe('OpenAPI document', () => {
  it('describes dead letters, command headers and refusals, the 422 of a query and history paging', async () => {
    const url = await start();
    const { paths } = (await get(`${url}/openapi.json`)).body;
    expect(paths['/dead-letters'].get).toMatchObject({
      operationId: 'deadLetters',
      parameters: [{ name: 'limit' }, { name: 'origin' }],
      responses: { 200: {}, 400: {}, 403: {} },
    });
    const command = paths['/twins/{path}/commands/{lane}'].post;
    expect(command.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    expect(Object.keys(command.responses)).toEqual(expect.arrayContaining(['202', '400', '404', '413', '415', '422']));
    expect(paths['/twins'].get.responses['422'].description).toMatch(/TWIN_TOO_MANY_TWINS/);
    const history = paths['/twins/{path}/history'].get;
    expect(history.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'limit', schema: expect.objectContaining({ maximum: 10000, default: 1000 }) }),
        expect.objectContaining({ name: 'cursor' }),
      ]),
    );
    expect(history.responses['200'].content['application/json'].schema.required).toContain('next');
    expect(paths['/twins/{path}'].get.responses['400'].description).toMatch(/100000 journal entries/);
    // /signals: its reader bound, and the HEAD that probes it without opening a stream.
    expect(Object.keys(paths['/signals'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '503']));
    expect(paths['/signals'].head).toMatchObject({ operationId: 'probeSignals', responses: { 200: {}, 503: {} } });
  });
});
