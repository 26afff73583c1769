import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { WarpClient } from '../../src/client/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { parseServeConfig, serveHelp } from '../../src/node/config/serve-config.js';
import { faultyModelSource, faultyModels } from '../support/faulty-models.js';
import { tempDir } from '../support/tmp.js';

const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';
const CLIMATE = `${ROOM}/sensors/climate`;

const nodes: TwinflowNode[] = [];
const warpClients: WarpClient[] = [];
const wsClients: WebSocket[] = [];
afterEach(async () => {
  for (const c of warpClients.splice(0)) c.close();
  for (const w of wsClients.splice(0)) w.terminate();
  for (const n of nodes.splice(0)) await n.close();
});

/** The default `npm start` shape (2 workers, LMDB strict) on a free port, with its log lines collected. */
async function node(
  options: Partial<NodeOptions> = {},
): Promise<TwinflowNode & { log: { lines: number; bytes: number } }> {
  const log = { lines: 0, bytes: 0 };
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (log.lines++, (log.bytes += chunk.length), cb()) });
  const n = await startNode({
    models: buildingModels(),
    modelSource: buildingModelSource(),
    workers: 2,
    dataDir: tempDir(),
    durability: 'strict',
    port: 0,
    logger: pino({ level: 'info' }, sink),
    ...options,
  });
  nodes.push(n);
  return Object.assign(n, { log });
}

async function post(
  url: string,
  body: string,
  type = 'application/json',
): Promise<{ status: number; text: string; ms: number }> {
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
function hostileClients(
  url: string,
  clients: number,
  size: number,
): { started: Promise<void>; result: Promise<{ status: number; text: string; ms: number }[]> } {
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
    // /healthz while the three run (at least once).
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
    // The node runs in this test process, so a GC or JIT pause of the process shows here too;
    // the old code held /healthz for seconds. The 100 ms bound of the issue is asserted by the
    // soak test, against a node in its own process.
    const sorted = [...health].sort((a, b) => a - b);
    expect(sorted[sorted.length - 1]!, `healthz ms: ${health.map((h) => h.toFixed(1)).join(' ')}`).toBeLessThan(500);
    expect(
      sorted[Math.floor(sorted.length / 2)]!,
      `healthz ms: ${health.map((h) => h.toFixed(1)).join(' ')}`,
    ).toBeLessThan(50);
    expect(n.rejections.count('input.TWIN_BATCH_TOO_LARGE')).toBe(3);
    expect(n.log.lines - linesBefore).toBeLessThanOrEqual(5);
  }, 30_000);

  it('#13.6 a full batch of 10 k bad events answers a bounded summary (first 100 + counts by code) and logs a few lines', async () => {
    const n = await node();
    const good = {
      subject: CLIMATE,
      id: 'g1',
      source: 'test',
      type: 'reading',
      data: { temperature: 21, humidity: 40 },
    };
    const items: unknown[] = Array.from({ length: 9_999 }, (_, i) =>
      i % 2 === 0 ? {} : { subject: '/nowhere/known', id: `u${i}` },
    );
    items.splice(5, 0, good);
    const linesBefore = n.log.lines;
    const a = await post(n.url, JSON.stringify(items));
    expect(a.status).toBe(207);
    const body = JSON.parse(a.text) as {
      accepted: number;
      rejected: { index: number; code: string }[];
      rejectedTotal: number;
      rejectedByCode: Record<string, number>;
      truncated: boolean;
    };
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
      statuses.add(
        (
          await fetch(`${n.url}/twins/org/contoso/commands/x`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"a":',
          })
        ).status,
      );
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

/** A raw client socket: what it received, and when (ms after connect) the server closed it. */
interface RawSocket {
  readonly socket: Socket;
  received(): string;
  /** Resolves with the ms from connect to close; rejects after `ms`. */
  closed(ms: number): Promise<number>;
}

const rawSockets: Socket[] = [];
afterEach(() => {
  for (const s of rawSockets.splice(0)) s.destroy();
});

async function rawSocket(url: string): Promise<RawSocket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  rawSockets.push(socket);
  const t0 = performance.now();
  let data = '';
  socket.on('data', (d) => (data += d.toString()));
  socket.on('error', () => undefined); // ECONNRESET from a server that drops us is what some tests expect
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - t0)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => data,
    closed: (ms) =>
      Promise.race([
        closedAt,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms).unref(),
        ),
      ]),
  };
}

/** Writes `chunk` every `everyMs` until the socket closes (bounded: at most `max` writes). */
function dribble(s: RawSocket, chunk: string, everyMs: number, max = 200): void {
  let n = 0;
  const timer = setInterval(() => {
    if (s.socket.destroyed || s.socket.writableEnded || ++n > max) clearInterval(timer);
    else s.socket.write(chunk);
  }, everyMs);
  s.socket.once('close', () => clearInterval(timer));
}

describe('#13.10 slow and half-open connections are timed out (HTTP and WARP)', () => {
  const limits = { requestTimeoutMs: 1_000, headersTimeoutMs: 500, keepAliveTimeoutMs: 300, idleTimeoutMs: 800 };

  it('#13.10 a dribbled body, dribbled headers, a silent socket and a half-sent upgrade are closed within the bounds; requests and a WARP link keep working', async () => {
    const n = await node({ httpLimits: limits });
    const client = new WarpClient({ url: n.url.replace(/^http/, 'ws') + '/', encoding: 'json', WebSocket });
    warpClients.push(client);
    const occupied = client.sync<boolean>(ROOM, 'occupied');
    await occupied.synced;

    const body = await rawSocket(n.url);
    body.socket.write(
      `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[`,
    );
    dribble(body, ' ', 100);
    const headers = await rawSocket(n.url);
    headers.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    dribble(headers, 'X-Slow: 1\r\n', 100);
    const silent = await rawSocket(n.url);
    const upgrade = await rawSocket(n.url);
    upgrade.socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
    dribble(upgrade, 'X-Slow: 1\r\n', 100);
    const keptAlive = await rawSocket(n.url);
    keptAlive.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');

    // Meanwhile normal requests are served.
    expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
    const ok = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: CLIMATE, data: { temperature: 22, humidity: 40 } }),
    });
    expect(ok.status).toBe(202);

    // Each bound plus the sweep interval (a quarter of the shortest timeout) and scheduling slack.
    const slack = 700;
    expect(await body.closed(limits.requestTimeoutMs + slack)).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 50);
    expect(body.received()).toMatch(/^HTTP\/1\.1 408 [^]*"code":"TWIN_REQUEST_TIMEOUT"/);
    expect(await headers.closed(limits.headersTimeoutMs + slack)).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
    expect(headers.received()).toMatch(/^HTTP\/1\.1 408 [^]*"code":"TWIN_REQUEST_TIMEOUT"/);
    await silent.closed(limits.headersTimeoutMs + slack);
    await upgrade.closed(limits.headersTimeoutMs + slack);
    expect(await keptAlive.closed(limits.keepAliveTimeoutMs + slack)).toBeGreaterThanOrEqual(
      limits.keepAliveTimeoutMs - 50,
    );
    expect(keptAlive.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(n.rejections.count('http.request_timeout')).toBeGreaterThanOrEqual(3);

    // The WARP link outlives every HTTP bound (time has to pass here: that is what is tested) and still delivers.
    await new Promise((r) => setTimeout(r, limits.idleTimeoutMs + limits.requestTimeoutMs));
    expect(n.warp.stats().connections).toBe(1);
    const post = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } }),
    });
    expect(post.status).toBe(202);
    for await (const { event } of occupied) if (event.type === 'value' && event.value === true) break;
  }, 30_000);

  it('#13.10 the connection caps: sockets past --http-max-connections are closed at accept, WARP upgrades past --warp-max-sockets get 503', async () => {
    const n = await node({ httpLimits: { maxConnections: 6 }, warp: { limits: { maxSockets: 2 } } });
    const ws = n.url.replace(/^http/, 'ws') + '/';
    const open = async (): Promise<WebSocket> => {
      const w = new WebSocket(ws, 'warp.json');
      wsClients.push(w);
      await new Promise<void>((resolve, reject) => (w.once('open', () => resolve()), w.once('error', reject)));
      return w;
    };
    await open();
    await open();
    const refused = new WebSocket(ws, 'warp.json');
    refused.on('error', () => undefined); // the refusal itself
    wsClients.push(refused);
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => reject(new Error('a third WARP socket was accepted')));
    });
    expect(status).toBe(503);
    expect(n.rejections.count('warp.too_many_sockets')).toBe(1);
    await waitFor(() => n.warp.stats().connections === 2);

    // 2 WARP sockets + 4 raw ones reach the cap of 6; the next socket is closed without a byte.
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await rawSocket(n.url));
    const extra = await rawSocket(n.url);
    await extra.closed(2_000);
    expect(extra.received()).toBe('');
    await waitFor(() => n.rejections.count('http.too_many_connections') >= 1);
    // Room again once sockets close: plain HTTP is served.
    for (const h of held) h.socket.destroy();
    await waitFor(
      async () =>
        (await fetch(`${n.url}/healthz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
    );
  }, 30_000);

  it('#13.10 a WARP socket that answers no ping (a half-open peer) is closed; one that answers stays', async () => {
    const n = await node({ warp: { limits: { pingIntervalMs: 200 } } });
    const ws = n.url.replace(/^http/, 'ws') + '/';
    const deaf = new WebSocket(ws, 'warp.json', { autoPong: false });
    const live = new WebSocket(ws, 'warp.json');
    wsClients.push(deaf, live);
    await Promise.all(
      [deaf, live].map(
        (w) => new Promise<void>((resolve, reject) => (w.once('open', () => resolve()), w.once('error', reject))),
      ),
    );
    const t0 = performance.now();
    await new Promise<void>((resolve) => deaf.once('close', () => resolve()));
    // Silent through one full interval after a ping: closed between 1 and 2 intervals (plus slack).
    expect(performance.now() - t0).toBeLessThan(2 * 200 + 500);
    expect(n.rejections.count('warp.heartbeat_timeout')).toBe(1);
    await waitFor(() => n.warp.stats().connections === 1);
    // The one that answers pings outlives several intervals (time has to pass: that is what is tested).
    await new Promise((r) => setTimeout(r, 3 * 200));
    expect(live.readyState).toBe(WebSocket.OPEN);
    expect(n.warp.stats().connections).toBe(1);
  }, 30_000);
});

/** Polls `condition` every 20 ms, at most 5 s. */
async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met within 5 s');
}

describe('#13.6 #13.10 the HTTP and WARP bounds have flags', () => {
  it('#13.10 serve reads --http-* and --warp-* (and TWINFLOW_* variables) and refuses a headers timeout above the request timeout', () => {
    const config = parseServeConfig(
      [
        '--http-max-batch',
        '500',
        '--http-request-timeout=2000',
        '--http-headers-timeout',
        '1000',
        '--warp-ping-interval',
        '0',
      ],
      { TWINFLOW_HTTP_MAX_CONNECTIONS: '64' },
    );
    expect(config.fronts).toEqual({
      httpLimits: { maxBatchEvents: 500, requestTimeoutMs: 2000, headersTimeoutMs: 1000, maxConnections: 64 },
      warp: { limits: { pingIntervalMs: 0 } },
      signals: {},
    });
    expect(() => parseServeConfig(['--http-request-timeout', '1000', '--http-headers-timeout', '5000'], {})).toThrow(
      /must not exceed the request timeout/,
    );
    expect(() => parseServeConfig(['--http-max-batch', '0'], {})).toThrow(
      /--http-max-batch must be a positive integer/,
    );
    expect(serveHelp()).toContain('--http-max-connections');
  });
});

describe('#13.11 names every JS object has, reads of the past without a journal, internal messages (HTTP and WARP, 2 workers)', () => {
  it('#13.11 __proto__, constructor and toString are no lanes: 404 over HTTP, @laneNotFound over WARP', async () => {
    const n = await node();
    expect(
      (await post(n.url, JSON.stringify({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } }))).status,
    ).toBe(202);
    for (const lane of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const read = await fetch(`${n.url}/twins${ROOM}?lanes=${lane}`);
      expect(read.status, lane).toBe(404);
      expect(((await read.json()) as { code: string }).code).toBe('TWIN_LANE_NOT_FOUND');
      const cmd = await fetch(`${n.url}/twins${ROOM}/commands/${lane}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '1',
      });
      expect(cmd.status, lane).toBe(404);
      // An event type is a name too: no handler is found on Object.prototype.
      expect(
        (await post(n.url, JSON.stringify({ subject: `${ROOM}/sensors/occupancy`, type: lane, data: {} }))).status,
        lane,
      ).toBeLessThan(500);
    }
    const raw = await rawWarp(n.url);
    for (const lane of ['constructor', '__proto__', 'toString']) {
      raw.send(`@link(node:"${ROOM}",lane:${lane})`);
      raw.send(`@sync(node:"${ROOM.replace(/room\/4$/, 'room/*')}",lane:${lane})`);
    }
    // A link to one twin is refused; so is a wildcard link, as no model under the filter has
    // such a lane (it used to call Object's members as lanes: `l.syncEvents is not a function`).
    const seen = await raw.until((m) => m.filter((x) => x.startsWith('@unlinked')).length >= 6);
    expect(seen.filter((x) => !x.startsWith('@unlinked'))).toEqual([]);
    for (const m of seen) expect(m).toMatch(/@laneNotFound\(code:TWIN_LANE_NOT_FOUND/);
    expect(
      (await post(n.url, JSON.stringify({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: false } }))).status,
    ).toBe(202);
    expect(raw.messages.filter((x) => x.startsWith('@event'))).toEqual([]);
    expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
  }, 30_000);

  it('#13.11 ?at= and /history without --journal are 400 TWIN_JOURNAL_DISABLED, not current state or nothing', async () => {
    const n = await node();
    expect(
      (await post(n.url, JSON.stringify({ subject: CLIMATE, data: { temperature: 21, humidity: 40 } }))).status,
    ).toBe(202);
    for (const url of [`${n.url}/twins${ROOM}?at=0`, `${n.url}/twins${CLIMATE}/history`]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('TWIN_JOURNAL_DISABLED');
    }
  }, 30_000);

  it('#13.11 a JS exception is answered as a stable code with a correlation id, and logged with its stack under that id', async () => {
    const lines: { correlationId?: string; err?: { stack?: string } }[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const n = await startNode({
      models: faultyModels(),
      modelSource: faultyModelSource(),
      workers: 2,
      dataDir: tempDir(),
      port: 0,
      logger: pino({ level: 'info' }, sink),
    });
    nodes.push(n);
    const one = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: '/gadget/1', type: 'crash' }),
    });
    const text = await one.text();
    expect(one.status).toBe(500);
    expect(text).not.toMatch(/secretInternals|Cannot read|null/);
    const body = JSON.parse(text) as { code: string; details: { correlationId: string } };
    expect(body.code).toBe('TWIN_TURN_FAILED');
    expect(body.details.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.headers.get('x-correlation-id')).toBe(body.details.correlationId);
    const logged = lines.find((l) => l.correlationId === body.details.correlationId);
    expect(logged?.err?.stack ?? JSON.stringify(logged)).toMatch(/secretInternals/);
    // In a batch too.
    const batch = await post(
      n.url,
      JSON.stringify([
        { subject: '/gadget/1', type: 'count' },
        { subject: '/gadget/2', type: 'crash' },
      ]),
    );
    expect(batch.status).toBe(207);
    expect(batch.text).not.toMatch(/secretInternals|Cannot read/);
    expect(JSON.parse(batch.text).rejected[0]).toMatchObject({
      index: 1,
      code: 'TWIN_TURN_FAILED',
      details: { correlationId: expect.any(String) },
    });
  }, 30_000);
});

/** A raw WARP socket (Recon) collecting envelopes. */
async function rawWarp(
  url: string,
): Promise<{ messages: string[]; send(text: string): void; until(p: (m: string[]) => boolean): Promise<string[]> }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/', 'warp.recon');
  wsClients.push(ws);
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(...(d as Buffer).toString().split('\n'))); // a Buffer: ws's default binaryType
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  return {
    messages,
    send: (text) => ws.send(text),
    async until(p) {
      await waitFor(() => p(messages));
      return messages;
    },
  };
}
