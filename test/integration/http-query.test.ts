import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { UNIT, rawClient, warpNode } from '../support/warp.js';

const B41 = '/org/contoso/site/berlin/building/41';
const room = (f: number, u: string, r: number) => `${B41}/floor/${f}/unit/${u}/room/${r}`;

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('HTTP subtree queries, metrics, OpenAPI', () => {
  it('lists the unoccupied rooms of building 41 and the floors warmer than 22, paginated', async () => {
    const node = await warpNode();
    const events = [];
    for (const f of [1, 2]) {
      for (const r of [1, 2, 3]) {
        events.push({ subject: `${room(f, 'a', r)}/sensors/occupancy`, data: { occupied: r === 2 } });
        events.push({
          subject: `${room(f, 'a', r)}/sensors/climate`,
          data: { temperature: f === 1 ? 21 : 24, humidity: 40 },
        });
      }
    }
    events.push({
      subject: '/org/contoso/site/berlin/building/7/floor/1/unit/a/room/1/sensors/occupancy',
      data: { occupied: false },
    });
    expect((await node.runtime.ingest(events)).rejected).toEqual([]);

    const q = (params: string) => get(`${node.url}/twins?${params}`);
    const unoccupied = await q(`under=${B41}&model=room&where=occupied%3Dfalse&lanes=occupied`);
    expect(unoccupied.status).toBe(200);
    expect(unoccupied.body.items.map((t: { path: string }) => t.path)).toEqual([
      room(1, 'a', 1),
      room(1, 'a', 3),
      room(2, 'a', 1),
      room(2, 'a', 3),
    ]);
    expect(unoccupied.body.items[0]).toEqual({ path: room(1, 'a', 1), model: 'room', lanes: { occupied: false } });
    expect(unoccupied.body.next).toBeNull();

    const warm = await q(`model=floor&where=${encodeURIComponent('temperature>22')}&lanes=temperature`);
    expect(warm.body.items).toEqual([{ path: `${B41}/floor/2`, model: 'floor', lanes: { temperature: 24 } }]);

    // Pages of two, following `next` to the end, see every room exactly once.
    const paths: string[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null; pages++) {
      expect(pages).toBeLessThan(10);
      const page = await q(
        `filter=${encodeURIComponent(`${B41}/floor/*/unit/a/room/*`)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      paths.push(...page.body.items.map((t: { path: string }) => t.path));
      cursor = page.body.next;
    }
    expect(paths).toEqual([1, 2].flatMap((f) => [1, 2, 3].map((r) => room(f, 'a', r))));

    expect((await q('where=%3E%3E')).body).toMatchObject({ code: 'TWIN_QUERY_INVALID' });
    expect((await q('limit=0')).status).toBe(400);
    expect((await q('filter=/a/b*')).body.code).toBe('TWIN_FILTER_INVALID');
    expect((await q('cursor=zzz')).body.code).toBe('TWIN_QUERY_INVALID');
  });

  it('serves Prometheus metrics covering events, twins, links, frames, conflations and turn latency', async () => {
    const node = await warpNode();
    await node.runtime.ingest({ subject: `${room(1, 'a', 1)}/sensors/occupancy`, data: { occupied: true } });
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    // The event loop is sampled every 10 ms from the moment the node listens. In a process
    // that already ran other files (modules loaded, code optimized) the lines above may take
    // less than a tick: read /metrics again until one was taken (a node that never samples
    // fails at the poll's end).
    let text = '';
    const deadline = Date.now() + 5000;
    do {
      const res = await fetch(`${node.url}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await res.text();
      if (value('twinflow_event_loop_delay_seconds_count') > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    } while (Date.now() < deadline);
    expect(value('twinflow_events_total')).toBe(1);
    expect(value('twinflow_twins_active')).toBeGreaterThanOrEqual(7);
    expect(value('twinflow_warp_links')).toBe(1);
    expect(value('twinflow_warp_frames_out_total')).toBeGreaterThanOrEqual(1);
    expect(value('twinflow_warp_conflations_total')).toBe(0);
    expect(text).toMatch(/^twinflow_turn_latency_seconds\{quantile="0\.99"\} \d/m);
    expect(value('twinflow_event_loop_delay_seconds_count')).toBeGreaterThan(0);
    expect(text).toMatch(/^twinflow_event_loop_delay_seconds\{quantile="1"\} \d/m);
    expect(text).toContain('# TYPE twinflow_events_total counter');
  });

  it('publishes an OpenAPI document of every route', async () => {
    const node = await warpNode();
    const { status, body } = await get(`${node.url}/openapi.json`);
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/twins/{path}',
        '/twins/{path}/commands/{lane}',
        '/twins',
        '/events',
        '/settled',
        '/metrics',
        '/healthz',
        '/readyz',
      ]),
    );
  });

  it('logs every request with pino at debug (at info a flood of requests would flood the log)', async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const node = await warpNode({ logger: pino({ level: 'debug' }, sink) });
    await fetch(`${node.url}/twins${UNIT}?lanes=secured`);
    await expect
      .poll(() =>
        lines.some(
          (l) => l.msg === 'request completed' && l.level === 20 && l.status === 200 && l.url.startsWith('/twins/'),
        ),
      )
      .toBe(true);
  });
});
