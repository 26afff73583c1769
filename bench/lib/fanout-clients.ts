/**
 * The subscriber side of bench/fanout, in its own process (forked by `FanoutClients`), so
 * the thousands of client sockets parsing frames do not share the server's event loop:
 * in production they are other machines. With 2 cores, server and clients each get one.
 *
 * Latency: every update's value is its send time on the server's clock
 * (`performance.timeOrigin + performance.now()`, wall-clock based and so comparable across
 * processes); the parent measures this process's clock offset over IPC before the first
 * window (NTP-style, best of many round trips) and hands it here, so a receive time is
 * put on the sender's clock before the subtraction.
 *
 * IPC protocol (parent → child → parent), one request at a time:
 * `open` → `opened`; `ping` → `pong`; `offset`; `start` → `started`;
 * `stop` (wait until the tail arrived) → `window`; `close` → `closed`.
 */
import WebSocket from 'ws';

export type ToClients =
  /** `subscribe[s]` is the frame socket s sends once open (null: only listen, the raw baseline). */
  /** `ca` (PEM): trust anchor of a `wss://` url with a private CA (a node started with --tls-cert). */
  | {
      t: 'open';
      url: string;
      protocol?: string;
      ca?: string;
      sockets: number;
      subscribe: string[] | null;
      expectSynced: number;
    }
  | { t: 'ping'; sent: number }
  | { t: 'offset'; offset: number }
  | { t: 'start' }
  | { t: 'stop'; quietMs: number; capMs: number }
  | { t: 'close' };

export type FromClients =
  | { t: 'opened' }
  | { t: 'pong'; sent: number; at: number }
  | { t: 'started' }
  | { t: 'window'; deliveries: number; last: number; latencies: Float64Array; cpuMs: number }
  | { t: 'closed' };

/** Every SAMPLE_EVERY-th delivery is sampled for latency (sorting 400 k samples per window is wasteful). */
const SAMPLE_EVERY = 8;
const now = (): number => performance.timeOrigin + performance.now();

let sockets: WebSocket[] = [];
let offset = 0; // this clock minus the parent's
let deliveries = 0;
let last = 0;
let samples = new Float64Array(1 << 16);
let sampled = 0;
let cpuAtStart = process.cpuUsage();

function sample(latency: number): void {
  if (sampled === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[sampled++] = latency;
}

const EVENT = Buffer.from('@event');
const NL = 0x0a;
const CLOSE_PAREN = 0x29;

/**
 * Counts `@event` envelopes in a frame (one, or newline-batched) and samples their latency.
 * Works on the bytes (no string per frame): this process is the measuring instrument, and
 * its own allocation and GC pauses would show up as latency.
 */
function onMessage(data: WebSocket.RawData): void {
  const at = now() - offset;
  const buf = data as Buffer;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(NL, start);
    const end = nl < 0 ? buf.length : nl;
    if (end - start > EVENT.length && buf.compare(EVENT, 0, EVENT.length, start, start + EVENT.length) === 0) {
      deliveries++;
      last = at;
      if (deliveries % SAMPLE_EVERY === 0) {
        const body = buf.lastIndexOf(CLOSE_PAREN, end - 1) + 1;
        const sent = Number(buf.toString('latin1', body, end));
        if (Number.isFinite(sent)) sample(at - sent);
      }
    }
    if (nl < 0) break;
    start = nl + 1;
  }
}

async function open(msg: Extract<ToClients, { t: 'open' }>): Promise<void> {
  let synced = 0;
  const countSynced = (data: WebSocket.RawData): void => {
    synced += (data as Buffer).toString().split('@synced').length - 1; // a Buffer: ws's default binaryType
  };
  const count = msg.sockets;
  for (let i = 0; i < count; i += 250) {
    const chunk = await Promise.all(
      Array.from(
        { length: Math.min(250, count - i) },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(msg.url, msg.protocol ? [msg.protocol] : [], msg.ca ? { ca: msg.ca } : {});
            ws.on('open', () => resolve(ws));
            ws.on('error', reject);
            ws.on('message', onMessage);
          }),
      ),
    );
    sockets.push(...chunk);
  }
  if (msg.subscribe) {
    for (const ws of sockets) ws.on('message', countSynced);
    sockets.forEach((ws, s) => ws.send(msg.subscribe![s]!));
    while (synced < msg.expectSynced) await sleep(20);
    for (const ws of sockets) ws.off('message', countSynced);
  }
}

async function stop(quietMs: number, capMs: number): Promise<void> {
  // Let the tail arrive: stop when nothing came for `quietMs` (or after `capMs`).
  const cap = performance.now() + capMs;
  while (performance.now() < cap && now() - offset - last < quietMs) await sleep(20);
  const latencies = samples.slice(0, sampled);
  const cpu = process.cpuUsage(cpuAtStart);
  send({ t: 'window', deliveries, last, latencies, cpuMs: (cpu.user + cpu.system) / 1000 });
}

function send(msg: FromClients): void {
  process.send!(msg);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

process.on('message', (msg: ToClients) => {
  switch (msg.t) {
    case 'open':
      open(msg).then(
        () => send({ t: 'opened' }),
        (err) => {
          process.stderr.write(`fanout clients: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
      return;
    case 'ping':
      send({ t: 'pong', sent: msg.sent, at: now() });
      return;
    case 'offset':
      offset = msg.offset;
      return;
    case 'start':
      deliveries = 0;
      sampled = 0;
      last = now() - offset;
      cpuAtStart = process.cpuUsage();
      send({ t: 'started' });
      return;
    case 'stop':
      void stop(msg.quietMs, msg.capMs);
      return;
    case 'close':
      for (const ws of sockets) ws.terminate();
      sockets = [];
      send({ t: 'closed' });
      return;
  }
});
process.on('disconnect', () => process.exit(0));
