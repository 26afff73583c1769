import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { tempDir } from '../support/tmp.js';

const CLIMATE = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate';

const nodes: TwinflowNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

/** The default `npm start` shape (2 workers, LMDB strict) on a free port, with its log lines collected. */
async function node(options: Partial<NodeOptions> = {}): Promise<TwinflowNode & { log: { lines: number; bytes: number } }> {
  const log = { lines: 0, bytes: 0 };
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (log.lines++, (log.bytes += chunk.length), cb()) });
  const n = await startNode({
    models: buildingModels(), modelSource: buildingModelSource(), workers: 2, dataDir: tempDir(), durability: 'strict',
    port: 0, logger: pino({ level: 'info' }, sink), ...options,
  });
  nodes.push(n);
  return Object.assign(n, { log });
}

async function post(url: string, body: string, type = 'application/json'): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': type }, body });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

/**
 * `clients` concurrent hostile posts from one child process: each POSTs a batch
 * of `size` `{}` (100 k is 293 KB) at once. `started` resolves when the batches are built
 * and about to be sent; `result` has each answer's status, body and wall time.
 */
function hostileClients(url: string, clients: number, size: number): { started: Promise<void>; result: Promise<{ status: number; text: string; ms: number }[]> } {
  const script = `
    const batch = JSON.stringify(Array.from({ length: ${size} }, () => ({})));
    const warm = () => fetch(${JSON.stringify(url + '/healthz')}).then((r) => r.text());
    const one = async () => {
      const t0 = performance.now();
      const res = await fetch(${JSON.stringify(url + '/events')}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch });
      return { status: res.status, text: await res.text(), ms: performance.now() - t0 };
    };
    // Warm up the client (undici, a connection per client) first: the timings are the server's.
    Promise.all(Array.from({ length: ${clients} }, warm)).then(() => process.stdout.write('go\\n'))
      .then(() => Promise.all(Array.from({ length: ${clients} }, one))).then((r) => process.stdout.write(JSON.stringify(r) + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let go: () => void;
  const started = new Promise<void>((resolve) => (go = resolve));
  const result = new Promise<{ status: number; text: string; ms: number }[]>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill(), reject(new Error('hostile clients did not finish in 20 s'))), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('go\n')) go();
    });
    child.on('exit', () => {
      clearTimeout(timer);
      const line = out.split('\n')[1];
      if (line) resolve(JSON.parse(line));
      else reject(new Error(`hostile clients failed: ${out}`));
    });
  });
  return { started, result };
}

describe('#13.6 rejected input is not amplified (HTTP)', () => {
  it('#13.6 a batch of 100 k {} is refused before decoding: small answer, fast, a bounded log, /healthz stays quick', async () => {
    const n = await node();
    await fetch(`${n.url}/healthz`).then((r) => r.text()); // this process's first fetch (connection, JIT)
    const linesBefore = n.log.lines;
    // The three hostile clients run in another process, as they would: the timings below are
    // the server's, not this process's fetch machinery sending 880 KB.
    const hostile = hostileClients(n.url, 3, 100_000);
    await hostile.started;
    const health: number[] = [];
    let done = false;
    void hostile.result.finally(() => (done = true));
    // /healthz while the three run (at least once): every answer within 100 ms.
    for (let i = 0; i < 500 && (!done || health.length === 0); i++) {
      const t0 = performance.now();
      const res = await fetch(`${n.url}/healthz`);
      await res.text();
      health.push(performance.now() - t0);
      expect(res.status).toBe(200);
    }
    const answers = await hostile.result;
    for (const a of answers) {
      expect(a.status).toBe(413);
      const body = JSON.parse(a.text) as { code: string; details: { limit: number } };
      expect(body.code).toBe('TWIN_BATCH_TOO_LARGE');
      expect(body.details).toEqual({ limit: 10_000 });
      expect(a.text.length).toBeLessThan(1024);
      expect(a.ms).toBeLessThan(1000);
    }
    expect(Math.max(...health), `healthz ms: ${health.map((h) => h.toFixed(1)).join(' ')}`).toBeLessThan(100);
    expect(n.rejections.count('input.TWIN_BATCH_TOO_LARGE')).toBe(3);
    expect(n.log.lines - linesBefore).toBeLessThanOrEqual(5);
  }, 30_000);

  it('#13.6 a full batch of 10 k bad events answers a bounded summary (first 100 + counts by code) and logs a few lines', async () => {
    const n = await node();
    const good = { subject: CLIMATE, id: 'g1', source: 'test', type: 'reading', data: { temperature: 21, humidity: 40 } };
    const items: unknown[] = Array.from({ length: 9_999 }, (_, i) => (i % 2 === 0 ? {} : { subject: '/nowhere/known', id: `u${i}` }));
    items.splice(5, 0, good);
    const linesBefore = n.log.lines;
    const a = await post(n.url, JSON.stringify(items));
    expect(a.status).toBe(207);
    const body = JSON.parse(a.text) as { accepted: number; rejected: { index: number; code: string }[]; rejectedTotal: number; rejectedByCode: Record<string, number>; truncated: boolean };
    expect(body.accepted).toBe(1);
    expect(body.rejectedTotal).toBe(9_999);
    expect(body.rejectedByCode).toEqual({ TWIN_EVENT_INVALID: 5_000, TWIN_NO_ROUTE: 4_999 });
    expect(body.rejected).toHaveLength(100);
    expect(body.rejected.slice(0, 7).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 6, 7]); // sorted, the good one (5) absent
    expect(body.truncated).toBe(true);
    expect(a.text.length).toBeLessThan(32 * 1024);
    // Two kinds of rejection, each at most 5 lines per window: not one line per event.
    expect(n.log.lines - linesBefore).toBeLessThanOrEqual(12);
    expect(n.rejections.count('input.TWIN_NO_ROUTE')).toBe(4_999);
    expect(await n.runtime.get(CLIMATE, 'latest')).toMatchObject({ temperature: 21 });
  }, 30_000);

  it('#13.6 every HTTP refusal is counted and its log rate-limited: unknown routes, bad URLs, fastify body errors', async () => {
    const n = await node({ workers: 0 });
    const linesBefore = n.log.lines;
    const statuses = new Set<number>();
    for (let i = 0; i < 50; i++) {
      statuses.add((await fetch(`${n.url}/nope/${i}`)).status);
      statuses.add((await fetch(`${n.url}/twins/a/%ZZ${i}`)).status);
      statuses.add((await fetch(`${n.url}/twins/org/contoso/commands/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' })).status);
    }
    expect([...statuses].sort()).toEqual([400, 404]);
    expect(n.rejections.count('http.TWIN_ROUTE_NOT_FOUND')).toBe(50);
    expect(n.rejections.count('http.TWIN_PATH_INVALID')).toBe(50);
    expect(n.rejections.count('http.TWIN_PAYLOAD_INVALID')).toBe(50);
    // 150 refusals (and 150 requests), three kinds: at most 5 lines each, no access log at info.
    expect(n.log.lines - linesBefore).toBeLessThanOrEqual(15);
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    expect(metrics).toContain('twinflow_rejected_total{kind="http.TWIN_ROUTE_NOT_FOUND"} 50');
  }, 30_000);
});
