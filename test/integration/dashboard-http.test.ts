/**
 * What the dashboard needs from a node, over real sockets: the page itself at `GET /`
 * (without credentials, even with access rules), `GET /models` (lane kinds), `GET /signals`
 * (derived events as Server-Sent Events, only those the caller may read), and
 * `twinflow serve --demo` moving within seconds of its start.
 */
import { takeSseEvents } from '../support/sse.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newToken } from '../../src/access/secrets.js';
import { serveProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';
import { warpNode } from '../support/warp.js';

const site = (org: string): string => `/org/${org}/site/s1`;
const fire = (org: string): string => `${site(org)}/building/b1/floor/1/unit/u1/room/1/sensors/fire`;

/** Reads a `/signals` stream until `count` events arrived (or `ms` passed), then aborts it. */
async function signals(url: string, count: number, headers: Record<string, string> = {}, ms = 10_000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  const res = await fetch(url, { headers, signal: ctl.signal });
  const events: { type: string; subject: string }[] = [];
  const opened = { status: res.status, type: res.headers.get('content-type') };
  let text = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const taken = takeSseEvents<{ type: string; subject: string }>(text + Buffer.from(chunk).toString('utf8'));
      text = taken.rest;
      events.push(...taken.events);
      if (events.length >= count) ctl.abort();
    }
  } catch (err) {
    if (!ctl.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return { ...opened, events };
}

describe('GET /models', () => {
  it('describes every model with its route and the kind of each lane', async () => {
    const node = await warpNode();
    const res = await fetch(`${node.url}/models`);
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: { name: string; route: string; lanes: unknown[] }[] };
    expect(models.map((m) => m.name)).toEqual(['org', 'site', 'building', 'floor', 'unit', 'room', 'sensor']);
    const unit = models.find((m) => m.name === 'unit')!;
    expect(unit.route).toBe('/org/:org/site/:site/building/:building/floor/:floor/unit/:unit');
    expect(unit.lanes).toContainEqual({ name: 'secure', kind: 'command' });
    expect(unit.lanes).toContainEqual({ name: 'secured', kind: 'value', writable: false });
    expect(unit.lanes).toContainEqual({ name: 'roomOccupied', kind: 'join' });
    const doc = (await (await fetch(`${node.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/models', '/signals', '/']));
    expect(models.find((m) => m.name === 'sensor')!.lanes).toContainEqual({
      name: 'hourlyTemperature',
      kind: 'window',
      window: { kind: 'tumbling', size: 3_600_000 },
    });
  });
});

describe('GET /signals', () => {
  it('streams derived events as they commit, after the most recent ones, and only those matching a filter', async () => {
    const node = await warpNode();
    // Before anyone listens: a new reader gets it first (the node keeps the recent ones).
    await node.runtime.ingest({ subject: fire('a'), data: { alarm: true, smoke: 0.9 } });
    const all = signals(`${node.url}/signals`, 2);
    const onlyB = signals(`${node.url}/signals?filter=/org/b/**`, 1);
    await new Promise((r) => setTimeout(r, 200));
    await node.runtime.ingest({ subject: fire('b'), data: { alarm: true, smoke: 0.9 } });
    const a = await all;
    expect(a.status).toBe(200);
    expect(a.type).toBe('text/event-stream; charset=utf-8');
    expect(a.events.map((e) => [e.type, e.subject])).toEqual([
      ['evacuation', site('a')],
      ['evacuation', site('b')],
    ]);
    expect((await onlyB).events.map((e) => e.subject)).toEqual([site('b')]);
  });

  it('refuses an empty filter', async () => {
    const node = await warpNode();
    const res = await fetch(`${node.url}/signals?filter=`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('TWIN_QUERY_INVALID');
  });
});

describe('GET /dashboard/{file}', () => {
  it('names every object inherits (constructor, __proto__, toString, …) are no files: 404 TWIN_ROUTE_NOT_FOUND, not 500', async () => {
    const node = await warpNode();
    const js = await fetch(`${node.url}/dashboard/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const names = [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      '__lookupGetter__',
    ];
    for (const name of names) {
      const res = await fetch(`${node.url}/dashboard/${name}`);
      expect({ name, status: res.status, body: await res.json() }).toEqual({
        name,
        status: 404,
        body: { code: 'TWIN_ROUTE_NOT_FOUND', message: `no dashboard file ${name}` },
      });
    }
    // Refusals, counted as such; none was an internal error (logged at level 50 with its stack).
    expect(node.rejections.count('http.TWIN_ROUTE_NOT_FOUND')).toBe(names.length);
    expect(node.rejections.count('http.TWIN_INTERNAL')).toBe(0);
  });
});

describe('the dashboard on a node with access rules', () => {
  const reader = newToken();

  it('serves the page without credentials, and nothing else: the API asks for a token, signals are only what it may read', async () => {
    const file = join(tempDir(), 'access.json');
    writeFileSync(
      file,
      JSON.stringify({
        principals: { 'reader-a': { tokens: [reader.stored], grants: [{ paths: ['/org/a/**'], rights: ['read'] }] } },
      }),
    );
    const node = await warpNode({ access: file });
    const page = await fetch(`${node.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('/dashboard/app.js');
    const js = await fetch(`${node.url}/dashboard/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${node.url}/dashboard/nope.js`)).status).toBe(404);

    expect((await fetch(`${node.url}/models`)).status).toBe(401);
    expect((await fetch(`${node.url}/signals`)).status).toBe(401);
    const auth = { authorization: `Bearer ${reader.token}` };
    expect((await fetch(`${node.url}/models`, { headers: auth })).status).toBe(200);

    const seen = signals(`${node.url}/signals`, 1, auth);
    await new Promise((r) => setTimeout(r, 200));
    // The reader may not read /org/b: its evacuation is not sent; /org/a's is.
    await node.runtime.ingest({ subject: fire('b'), data: { alarm: true, smoke: 0.9 } });
    await node.runtime.ingest({ subject: fire('a'), data: { alarm: true, smoke: 0.9 } });
    expect((await seen).events.map((e) => e.subject)).toEqual([site('a')]);
  });
});

describe('twinflow serve --demo', () => {
  it('prints the dashboard URL and its twins move within 10 s of the start', async () => {
    const started = performance.now();
    const serve = await serveProcess(['--demo', '--port', '0', '--mqtt-port', '0', '--demo-rate', '200']);
    const lines = serve.log().map((l) => JSON.parse(l) as { msg: string; dashboard?: string });
    expect(lines.find((l) => l.msg.startsWith('twinflow is serving'))?.dashboard).toBe(`${serve.url}/`);
    let events = 0;
    // One round of the demo fleet is 384 readings (2 buildings × 4 floors × 4 units × 3 rooms × 4 sensors).
    while (events < 400 && performance.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 250));
      const metrics = await (await fetch(`${serve.url}/metrics`)).text();
      events = Number(/^twinflow_events_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    }
    expect(events).toBeGreaterThanOrEqual(400);
    const query = await fetch(`${serve.url}/twins?filter=/org/demo/site/*/building/*&lanes=occupiedRooms`);
    expect(((await query.json()) as { items: unknown[] }).items.length).toBe(2);
    expect((await fetch(`${serve.url}/`)).status).toBe(200);
  });

  it('refuses --demo-rate without --demo, and a rate that is not a positive number', async () => {
    await expect(serveProcess(['--demo-rate', '100', '--port', '0'])).rejects.toThrow(/--demo-rate needs --demo/);
    await expect(serveProcess(['--demo', '--demo-rate', '0', '--port', '0', '--mqtt-port', '0'])).rejects.toThrow(
      /--demo-rate/,
    );
  });
});
