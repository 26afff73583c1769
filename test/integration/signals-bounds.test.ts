/**
 * `/signals` (Server-Sent Events) against readers that cost the node: `HEAD` answers at once
 * and registers nothing, readers past the cap are refused, a burst to many readers that do
 * not read keeps the event loop free (each event encoded once, one write per reader per
 * turn), and a reader that leaves more than its bound unread is closed. Real node on port 0,
 * real sockets on loopback.
 */
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command, defineTwin, startNode, type TwinflowNode } from '../../src/index.js';
import { parseServeConfig } from '../../src/node/config/serve-config.js';
import { DEFAULT_SIGNAL_LIMITS } from '../../src/node/http/signal-routes.js';

/** Emits `count` derived events in one turn, each with `pad` characters of data, subjects under the twin. */
const burst = defineTwin({
  name: 'burst',
  route: '/org/:org/burst/:b',
  lanes: { fire: command<{ count: number; pad: number }>() },
  onCommand: {
    fire(ctx, { count, pad }) {
      const filler = 'x'.repeat(pad);
      for (let i = 0; i < count; i++) ctx.emit('tick', { i, filler }, { subject: `${ctx.path}/item/${i}` });
    },
  },
});
const BURST = '/org/acme/burst/b1';

const nodes: TwinflowNode[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const n of nodes.splice(0)) await n.close();
});

async function node(signals?: { maxReaders?: number }): Promise<TwinflowNode> {
  const n = await startNode({ models: [burst], port: 0, logger: pino({ level: 'silent' }), signals });
  nodes.push(n);
  return n;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A raw HTTP/1.1 client socket: what it sent back so far (its first 64 KiB), events received, whether the server closed it. */
interface Raw {
  socket: Socket;
  text: () => string;
  /** `data:` lines received. */
  events: () => number;
  closed: () => boolean;
}

function raw(url: string, request: string): Raw {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  sockets.push(socket);
  let text = '';
  let events = 0;
  let tail = '';
  let closed = false;
  socket.on('data', (d: Buffer) => {
    const s = d.toString('latin1');
    if (text.length < 65_536) text += s;
    // Counted across chunk boundaries: the last 6 characters are scanned again with the next chunk.
    const scan = tail + s;
    events += (scan.match(/\ndata: /g) ?? []).length;
    tail = scan.slice(-6);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  socket.write(request);
  return { socket, text: () => text, events: () => events, closed: () => closed };
}

/** A `/signals` reader that reads its response head, then stops reading (its socket paused). */
async function stalledReader(url: string): Promise<Raw> {
  const r = raw(url, 'GET /signals HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the stream to open', () => r.text().includes(': twinflow signals'));
  r.socket.pause();
  return r;
}

describe('HEAD /signals', () => {
  it('answers at once with the stream headers and no body, and serves a request pipelined behind it', async () => {
    const n = await node();
    const t0 = performance.now();
    const r = raw(n.url, 'HEAD /signals HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the pipelined /healthz answer', () => r.text().includes('{"status":"ok"}'), 3000);
    expect(performance.now() - t0).toBeLessThan(2000);
    const [head, rest] = r.text().split('\r\n\r\n', 2) as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).toContain('content-type: text/event-stream; charset=utf-8');
    // No body: the next bytes on the socket are the /healthz answer.
    expect(rest).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // What `curl -I` and fetch see.
    const res = await fetch(`${n.url}/signals`, { method: 'HEAD', signal: AbortSignal.timeout(2000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // Still refuses what GET refuses.
    expect((await fetch(`${n.url}/signals?filter=`, { method: 'HEAD' })).status).toBe(400);
  });
});

describe('the cap on /signals readers', () => {
  it(`refuses reader ${DEFAULT_SIGNAL_LIMITS.maxReaders + 1} with 503 TWIN_TOO_MANY_CONNECTIONS, counted; a closed reader frees its slot`, async () => {
    const n = await node();
    const max = DEFAULT_SIGNAL_LIMITS.maxReaders;
    const readers: Raw[] = [];
    for (let i = 0; i < max; i++) readers.push(raw(n.url, 'GET /signals HTTP/1.1\r\nHost: x\r\n\r\n'));
    await until(`${max} streams to open`, () => readers.every((r) => r.text().includes(': twinflow signals')), 10_000);
    const refused = await fetch(`${n.url}/signals`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe('TWIN_TOO_MANY_CONNECTIONS');
    expect(body.message).toContain(`${max} /signals readers`);
    expect(n.rejections.count('http.TWIN_TOO_MANY_CONNECTIONS')).toBe(1);
    // HEAD says the same, and takes no slot either way.
    expect((await fetch(`${n.url}/signals`, { method: 'HEAD' })).status).toBe(503);
    // A reader that leaves frees its slot.
    readers[0]!.socket.destroy();
    await sleep(100);
    const ctl = new AbortController();
    const again = await fetch(`${n.url}/signals`, { signal: ctl.signal });
    expect(again.status).toBe(200);
    ctl.abort();
  });
});

describe('the bounds as a node takes them', () => {
  it('startNode({ signals }) and --signals-max-readers / --signals-max-unread set them', async () => {
    const n = await node({ maxReaders: 2 });
    const readers = [0, 1].map(() => raw(n.url, 'GET /signals HTTP/1.1\r\nHost: x\r\n\r\n'));
    await until('2 streams to open', () => readers.every((r) => r.text().includes(': twinflow signals')));
    expect((await fetch(`${n.url}/signals`)).status).toBe(503);
    const flags = parseServeConfig(['--signals-max-readers', '3', '--signals-max-unread', '4096'], {}).fronts;
    expect(flags.signals).toEqual({ maxReaders: 3, maxBufferedBytes: 4096 });
    expect(() => parseServeConfig(['--signals-max-readers', '0'], {})).toThrow('--signals-max-readers');
  });
});

describe('a burst of derived events to readers that do not read', () => {
  it('200 stalled readers and 2000 events in one turn: each event encoded once, /healthz answers within 1 s, a reader that reads gets every event, in the same bytes as the others', async () => {
    const n = await node();
    const stalled: Raw[] = [];
    for (let i = 0; i < 200; i++) stalled.push(await stalledReader(n.url));
    const reading = raw(n.url, 'GET /signals HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the reading stream to open', () => reading.text().includes(': twinflow signals'));
    // fetch loads undici on its first call (~0.3 s): not the node's time.
    await (await fetch(`${n.url}/healthz`)).text();
    let worst = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now();
        await (await fetch(`${n.url}/healthz`)).text();
        worst = Math.max(worst, performance.now() - t0);
        await sleep(20);
      }
    })();
    const count = 2000;
    // Every JSON.stringify of the process while the burst is sent (the probe's and the node's
    // other ones too): one per event and reader was 400 000.
    const stringify = vi.spyOn(JSON, 'stringify');
    let stringified: number;
    try {
      await n.runtime.command(BURST, 'fire', { count, pad: 100 });
      await until('the reader to get every event', () => reading.events() >= count, 20_000);
    } finally {
      stringified = stringify.mock.calls.length;
      stringify.mockRestore();
    }
    await sleep(100);
    probing = false;
    await probe;
    expect(stringified).toBeLessThan(3 * count);
    // Was 4.8 s; now 0.1-0.25 s on 2 busy cores.
    expect(worst).toBeLessThan(1000);
    // Every reader got the same bytes for an event (a stalled one: what reached it before it stopped).
    const frame = /id: \S+\ndata: \{[^\n]*"i":0,[^\n]*\}\n\n/.exec(reading.text())![0];
    stalled[0]!.socket.resume();
    await until('a stalled reader to read the first event', () => stalled[0]!.text().includes('"i":0,'));
    expect(stalled[0]!.text()).toContain(frame);
  });
});

describe('a reader that leaves more than its bound unread', () => {
  it('is closed, while a reader that reads keeps its stream and gets every event', async () => {
    const n = await node();
    const slow = await stalledReader(n.url);
    const reading = raw(n.url, 'GET /signals HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the reading stream to open', () => reading.text().includes(': twinflow signals'));
    // 12 MB: more than the bound (1 MiB) plus what the kernel buffers on loopback, in turns of
    // 0.25 MB; the reader (in this process) reads each before the next is sent.
    const turns = 48;
    const perTurn = 25;
    const count = turns * perTurn;
    for (let k = 1; k <= turns; k++) {
      await n.runtime.command(BURST, 'fire', { count: perTurn, pad: 10_000 });
      await until('the reader to read a turn', () => reading.events() >= k * perTurn);
    }
    // A paused socket does not see its end: once it reads again, it gets what the kernel
    // held for it, then the end of the stream, not the rest of the events.
    slow.socket.resume();
    await until('the stalled reader to be closed', () => slow.closed(), 5000);
    expect(slow.events()).toBeLessThan(count);
    expect(reading.events()).toBe(count);
    expect(reading.closed()).toBe(false);
    expect(DEFAULT_SIGNAL_LIMITS.maxBufferedBytes).toBe(1 << 20);
  });
});
