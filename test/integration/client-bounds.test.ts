/**
 * The client's bounds, through its public API, against a real node (port 0, loopback) and,
 * where the server has to misbehave, a small `ws` server in the test:
 *
 * - what it sends goes in frames under the server's 256 KiB limit (a relink of many links,
 *   or thousands of queued commands, was one frame the server closed the socket on: the
 *   client reconnected forever, or lost the commands silently);
 * - an envelope the server would refuse, or one past the queue bound, throws at once;
 * - what was not handed to a socket survives its drop;
 * - a server that accepts and closes at once is retried with growing delays;
 * - `synced` settles when the link or client closes (and, asked, after a timeout);
 * - a frame from the server past `maxReceivedFrameBytes` is refused (Node's `ws`).
 */
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import {
  CLIENT_DEFAULTS,
  ClientError,
  LinkError,
  WarpClient,
  type ClientOptions,
  type ClientStatus,
  type WebSocketLike,
} from '../../src/client/index.js';
import { UNIT, warpNode } from '../support/warp.js';

const clients: WarpClient[] = [];
const servers: WebSocketServer[] = [];
const proxies: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p();
  for (const s of servers.splice(0)) {
    for (const ws of s.clients) ws.terminate();
    await new Promise((r) => s.close(r));
  }
});

function client(options: Partial<ClientOptions> & { url: string }): WarpClient {
  const c = new WarpClient({
    encoding: 'json',
    WebSocket,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  clients.push(c);
  return c;
}

function statusesOf(c: WarpClient): ClientStatus[] {
  const statuses: ClientStatus[] = [];
  c.onStatus((s) => statuses.push(s));
  return statuses;
}

/** A `ws` server on a free loopback port; `onConnection` plays the server. */
async function fakeServer(
  onConnection: (ws: ServerSocket) => void,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => [...p][0] ?? false });
  servers.push(wss);
  wss.on('connection', (ws) => {
    connections++;
    onConnection(ws);
  });
  await new Promise((r) => wss.once('listening', r));
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, connections: () => connections };
}

/** A TCP proxy to `target` whose connections `drop()` cuts (the network dropping the socket). */
async function proxy(target: string): Promise<{ url: string; drop: () => void }> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(port), hostname);
    pairs.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(inbound);
      pairs.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxies.push(async () => {
    for (const s of pairs) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/`,
    drop: () => {
      for (const s of pairs) s.destroy();
    },
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function commandsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^twinflow_commands_total (\d+)/m.exec(text)![1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `promise` settled with within `ms`: its rejection, `'resolved'`, or `'pending'`. */
async function outcome(promise: Promise<unknown>, ms = 3_000): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise((r) => (timer = setTimeout(() => r('pending'), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sensor path of ~390 bytes (the server takes 900, 128 per segment). */
function longPath(i: number): string {
  const seg = (name: string) => `${name}-${i}-`.padEnd(64, 'x');
  return `/org/${seg('o')}/site/${seg('s')}/building/${seg('b')}/floor/${seg('f')}/unit/${seg('u')}/room/${i}/sensors/climate`;
}

describe('outgoing frames stay under the server limit', () => {
  it.each(['json', 'recon'] as const)(
    'syncs 800 links to long paths (~300 KB of @sync) and resyncs them all after a drop (%s)',
    async (encoding) => {
      const node = await warpNode();
      const net = await proxy(node.ws);
      const c = client({ url: net.url, encoding });
      const statuses = statusesOf(c);
      let syncs = 0;
      const unlinked: string[] = [];
      const links = Array.from({ length: 800 }, (_, i) =>
        c.sync(longPath(i), 'status', { onSynced: () => syncs++, onUnlinked: (e) => unlinked.push(e.reason) }),
      );
      let synced = 0;
      for (const l of links) void l.synced.then(() => synced++);
      await expect.poll(() => synced, { timeout: 15_000 }).toBe(800);
      expect(statuses).toEqual(['open']); // no refused frame, no reconnect
      expect(links[0]!.value).toBe('ok');
      // The connection drops: the client relinks everything on the next one.
      net.drop();
      await expect.poll(() => syncs, { timeout: 15_000 }).toBe(1600);
      expect(unlinked).toEqual([]);
      expect(statuses.at(-1)).toBe('open');
    },
  );

  it('delivers 4000 commands queued before the socket opened (~290 KB), none lost', async () => {
    const node = await warpNode();
    const before = await commandsTotal(node.url);
    const errors: string[] = [];
    const c = client({ url: node.ws, onError: (m) => errors.push(m) });
    const statuses = statusesOf(c);
    for (let i = 0; i < 4000; i++) c.command(UNIT, 'secure', i % 2 === 0);
    await expect.poll(() => commandsTotal(node.url), { timeout: 15_000 }).toBe(before + 4000);
    expect(statuses).toEqual(['open']);
    expect(errors).toEqual([]);
  });

  it('refuses an envelope larger than serverMaxFrameBytes at once; a large one under it goes alone', async () => {
    const node = await warpNode();
    const errors: string[] = [];
    const c = client({ url: node.ws, onError: (m) => errors.push(m) });
    const statuses = statusesOf(c);
    await c.sync(UNIT, 'secured').synced;
    let thrown: unknown;
    try {
      c.command(UNIT, 'secure', 'x'.repeat(300 * 1024));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClientError);
    expect(thrown).toMatchObject({ code: 'CLIENT_ENVELOPE_TOO_LARGE' });
    expect(() => c.auth({ token: 'x'.repeat(300 * 1024) })).toThrow(/serverMaxFrameBytes/);
    expect(() => client({ url: node.ws, credentials: { token: 'x'.repeat(300 * 1024) } })).toThrow(ClientError);
    expect(() => c.sync(`/org/${'x'.repeat(300 * 1024)}`, 'alarm')).toThrow(ClientError);
    // 200 KB: over maxFrameBytes (64 KiB), under the server's 256 KiB: sent in its own frame.
    // The lane refuses the value (not a boolean), the socket stays.
    c.command(UNIT, 'secure', 'x'.repeat(200 * 1024));
    c.command(UNIT, 'secure', true);
    await expect.poll(() => node.runtime.get(UNIT, 'secured')).toBe(true);
    expect(statuses).toEqual(['open']);
    expect(errors).toEqual([]);
  });

  it('keeps what it did not hand to a socket that drops, and sends it on the next one', async () => {
    // A WebSocket whose network writes one frame, then stalls: later frames stay in
    // bufferedAmount and are lost with the socket (what any WebSocket does on a drop).
    const sockets: FakeSocket[] = [];
    class FakeSocket implements WebSocketLike {
      readyState = 0;
      readonly protocol = 'warp.json';
      bufferedAmount = 0;
      readonly written: string[] = [];
      readonly stuck: string[] = [];
      stalled = false;
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: unknown) => void) | null = null;
      onclose: ((event: unknown) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor() {
        sockets.push(this);
      }
      send(data: string): void {
        if (this.stalled) {
          this.stuck.push(data);
          this.bufferedAmount += data.length;
        } else this.written.push(data);
        this.stalled ||= sockets.length === 1;
      }
      close(): void {
        this.drop();
      }
      open(): void {
        this.readyState = 1;
        this.onopen?.({});
      }
      drop(): void {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.onclose?.({ code: 1006, reason: '' });
      }
    }
    const maxFrameBytes = 1024;
    const c = client({
      url: 'ws://fake/',
      WebSocket: FakeSocket,
      maxFrameBytes,
      reconnect: { initialDelayMs: 1, jitter: 0 },
    });
    const sent = Array.from({ length: 300 }, (_, i) => `${UNIT}/c${i}`);
    for (const node of sent) c.command(node, 'secure', true);
    sockets[0]!.open();
    const first = sockets[0]!;
    const envelopes = (frames: string[]) =>
      frames.flatMap((f) => (JSON.parse(f) as { node: string }[]).map((e) => e.node));
    // Frames within maxFrameBytes; only a few frames' worth handed over ahead of the network.
    for (const f of [...first.written, ...first.stuck]) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(maxFrameBytes);
    expect(first.bufferedAmount).toBeLessThanOrEqual(5 * maxFrameBytes);
    await sleep(30); // the client looks again later; still stalled: nothing more handed over
    expect(first.stuck.length).toBeLessThanOrEqual(5);
    first.drop();
    await expect.poll(() => sockets.length).toBe(2);
    sockets[1]!.open();
    await expect.poll(() => envelopes(sockets[1]!.written).length).toBeGreaterThan(0);
    // Everything not handed to the first socket goes on the second, in order, once.
    expect([...envelopes(first.written), ...envelopes(first.stuck), ...envelopes(sockets[1]!.written)]).toEqual(sent);
    expect(envelopes(sockets[1]!.written).length).toBeGreaterThan(200);
  });
});

describe('credentials on a new socket', () => {
  it('sends the current credentials once: an @auth queued before the socket opened is not sent again', async () => {
    const received: { tag: string; body?: unknown }[] = [];
    const server = await fakeServer((ws) =>
      ws.on('message', (data) => {
        const json = JSON.parse((data as Buffer).toString()) as unknown;
        received.push(...((Array.isArray(json) ? json : [json]) as { tag: string }[]));
      }),
    );
    const c = client({ url: server.url, credentials: { token: 'a' } });
    c.auth({ token: 'b' }); // before the socket opened: queued, and the credentials are now b
    c.command(UNIT, 'secure', true);
    await expect.poll(() => received.some((m) => m.tag === 'command')).toBe(true);
    expect(received.filter((m) => m.tag === 'auth')).toEqual([{ tag: 'auth', body: { token: 'b' } }]);
    expect(received.map((m) => m.tag)).toEqual(['auth', 'command']);
  });
});

describe('the outbox is bounded', () => {
  it('refuses commands past maxQueuedBytes while disconnected, at once and with a ClientError', async () => {
    const c = client({ url: `ws://127.0.0.1:${await closedPort()}/`, maxQueuedBytes: 10_000 });
    let accepted = 0;
    let thrown: unknown;
    try {
      for (; accepted < 100_000; accepted++) c.command(UNIT, 'secure', true);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClientError);
    expect(thrown).toMatchObject({ code: 'CLIENT_QUEUE_FULL' });
    expect((thrown as Error).message).toMatch(/maxQueuedBytes 10000/);
    const bytes = Buffer.byteLength(JSON.stringify({ tag: 'command', node: UNIT, lane: 'secure', body: true }));
    expect(accepted).toBe(Math.floor(10_000 / bytes));
    expect(() => c.command(UNIT, 'secure', true)).toThrow(ClientError);
  });

  it('has a default bound (4 MiB)', async () => {
    expect(CLIENT_DEFAULTS.maxQueuedBytes).toBe(4 * 1024 * 1024);
    const c = client({ url: `ws://127.0.0.1:${await closedPort()}/` });
    let accepted = 0;
    expect(() => {
      for (; accepted < 1_000_000; accepted++) c.command(UNIT, 'secure', true);
    }).toThrow(ClientError);
    expect(accepted).toBeLessThan(100_000);
  });

  it('drains on connect, and takes commands again', async () => {
    const node = await warpNode();
    const before = await commandsTotal(node.url);
    const c = client({ url: node.ws, maxQueuedBytes: 5_000 });
    let accepted = 0;
    try {
      for (; accepted < 1000; accepted++) c.command(UNIT, 'secure', accepted % 2 === 0);
    } catch {
      // the bound: checked above
    }
    expect(accepted).toBeLessThan(1000);
    await expect.poll(() => commandsTotal(node.url), { timeout: 10_000 }).toBe(before + accepted);
    c.command(UNIT, 'secure', true);
    await expect.poll(() => commandsTotal(node.url), { timeout: 10_000 }).toBe(before + accepted + 1);
  });
});

describe('reconnect backoff', () => {
  it('grows against a server that accepts and closes at once', async () => {
    const server = await fakeServer((ws) => ws.close(1011, 'bye'));
    const errors: string[] = [];
    client({
      url: server.url,
      reconnect: { initialDelayMs: 20, maxDelayMs: 5_000, jitter: 0 },
      onError: (m) => errors.push(m),
    });
    await sleep(1200);
    // 20, 40, 80, 160, 320, 640 ms: about 6 connections (it was one every ~20 ms, ~50).
    expect(server.connections()).toBeGreaterThanOrEqual(3);
    expect(server.connections()).toBeLessThanOrEqual(8);
    expect(errors[0]).toMatch(/closed with 1011 \(server error\): bye/);
  });

  it('starts again from the initial delay after a connection that stayed open healthyAfterMs', async () => {
    const server = await fakeServer((ws) => setTimeout(() => ws.close(1001), 150));
    client({
      url: server.url,
      reconnect: { initialDelayMs: 50, factor: 4, maxDelayMs: 5_000, jitter: 0, healthyAfterMs: 100 },
    });
    await sleep(1300);
    // Reset: ~200 ms a cycle, ~6 connections; not reset, 50, 200, 800 ms: 3.
    expect(server.connections()).toBeGreaterThanOrEqual(5);
  });
});

describe('synced settles', () => {
  it('rejects with a LinkError when the socket drops with reconnect: false (no server)', async () => {
    const c = client({ url: `ws://127.0.0.1:${await closedPort()}/`, reconnect: false });
    const link = c.sync('/org/a', 'alarm');
    const err = await outcome(link.synced);
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ reason: 'clientClosed', code: 'CLIENT_CLOSED', node: '/org/a', lane: 'alarm' });
    expect(c.status).toBe('closed');
    expect(() => c.command('/org/a', 'x', 1)).toThrow(/closed/);
  });

  it('rejects when the client or the link is closed first; iterations still just end', async () => {
    const c = client({ url: `ws://127.0.0.1:${await closedPort()}/` });
    const a = c.sync('/org/a', 'alarm');
    const b = c.link('/org/b', 'alarm');
    b.close();
    expect(await outcome(b.synced)).toMatchObject({ name: 'LinkError', reason: 'closed', code: 'CLIENT_LINK_CLOSED' });
    const iterated = (async () => {
      for await (const _ of a) void _;
      return 'ended';
    })();
    c.close();
    expect(await outcome(a.synced)).toMatchObject({ name: 'LinkError', reason: 'clientClosed' });
    expect(await outcome(iterated)).toBe('resolved');
    expect(await outcome(c.sync('/org/c', 'alarm').synced)).toBeInstanceOf(LinkError); // opened after close
  });

  it('rejects after syncTimeoutMs when the server never answers; the link stays', async () => {
    const server = await fakeServer(() => {}); // accepts, says nothing
    const c = client({ url: server.url, syncTimeoutMs: 200 });
    const link = c.sync('/org/a', 'alarm');
    expect(await outcome(link.synced)).toMatchObject({ reason: 'timeout', code: 'CLIENT_SYNC_TIMEOUT' });
    expect(link.isClosed).toBe(false);
    expect(c.status).toBe('open');
  });

  it('resolves as before when the answer comes in time (a real node, syncTimeoutMs set)', async () => {
    const node = await warpNode();
    const c = client({ url: node.ws, syncTimeoutMs: 5_000 });
    await c.sync(UNIT, 'secured').synced;
  });
});

describe('frames from the server are bounded (Node ws: maxPayload)', () => {
  const event = (bytes: number) =>
    JSON.stringify({ tag: 'event', node: '/a/b', lane: 'status', body: 'x'.repeat(bytes) });

  it('refuses a frame past maxReceivedFrameBytes, reports it and reconnects', async () => {
    const server = await fakeServer((ws) => ws.send(event(2 * 1024 * 1024)));
    const errors: string[] = [];
    let events = 0;
    const c = client({ url: server.url, maxReceivedFrameBytes: 1024 * 1024, onError: (m) => errors.push(m) });
    c.sync('/a/b', 'status', { onEvent: () => events++ });
    await expect.poll(() => server.connections()).toBeGreaterThanOrEqual(2);
    expect(events).toBe(0);
    expect(errors[0]).toMatch(/maxReceivedFrameBytes/);
  });

  it('takes frames up to 16 MiB by default, refuses larger ones', async () => {
    expect(CLIENT_DEFAULTS.maxReceivedFrameBytes).toBe(16 * 1024 * 1024);
    let size = 1024 * 1024;
    const server = await fakeServer((ws) => ws.send(event(size)));
    const errors: string[] = [];
    const values: number[] = [];
    const c = client({ url: server.url, onError: (m) => errors.push(m) });
    c.sync('/a/b', 'status', { onEvent: (e) => e.type === 'value' && values.push((e.value as string).length) });
    await expect.poll(() => values).toEqual([1024 * 1024]);
    size = 17 * 1024 * 1024;
    for (const ws of servers[0]!.clients) ws.close(1001);
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(values).toEqual([1024 * 1024]);
    expect(errors[0]).toMatch(/maxReceivedFrameBytes/);
  });
});
