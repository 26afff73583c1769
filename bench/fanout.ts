/**
 * fanout: N WARP subscribers (1,000 and 10,000 links) synced to floor `temperature` lanes
 * while the floors update at a fixed rate; deliveries/s and update-to-delivery latency
 * p50/p99. Baseline in the same run: a raw `ws` server broadcasting the same bytes, one
 * frame per subscriber per update, to the same number of sockets and subscribers.
 *
 * Subscribers are links spread over at most 2,500 sockets (4 links per socket at 10 k),
 * because server and clients share this process and its 20 k file descriptors. Each
 * update's value is its send time (performance.now()), so the receiver reads the latency
 * off the envelope.
 */
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { buildingModels } from '../models/index.js';
import { startNode } from '../src/index.js';
import { median, type BenchContext, type Figure } from './lib/harness.js';

const FLOORS = 1000;
const MAX_SOCKETS = 2500;
const floorPath = (i: number) => `/org/bench/site/s0/building/b${Math.floor(i / 10) % 100}/floor/${i % 10}`;

interface Window { deliveries: number; perSecond: number; p50: number; p99: number; max: number }

/** Counts deliveries and samples latencies from received frames (newline-batched Recon). */
class Receiver {
  deliveries = 0;
  latencies: number[] = [];
  last = 0;
  readonly onMessage = (data: WebSocket.RawData): void => {
    const now = performance.now();
    const text = data.toString();
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
      if (line.startsWith('@event')) {
        this.deliveries++;
        const sent = Number(line.slice(line.lastIndexOf(')') + 1));
        if ((this.deliveries & 7) === 0 && Number.isFinite(sent)) this.latencies.push(now - sent);
        this.last = now;
      }
      if (nl < 0) break;
      start = nl + 1;
    }
  };
  reset(): void {
    this.deliveries = 0;
    this.latencies = [];
  }
  async window(drive: (rate: number, ms: number) => Promise<void>, rate: number, ms: number): Promise<Window> {
    this.reset();
    const t0 = performance.now();
    await drive(rate, ms);
    // Let the tail arrive: stop when nothing came for 100 ms (or after 5 s).
    const cap = performance.now() + 5000;
    while (performance.now() < cap && performance.now() - this.last < 100) await sleep(20);
    const s = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
    return { deliveries: this.deliveries, perSecond: this.deliveries / ((this.last - t0) / 1000), p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? NaN };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Calls `update(i)` at `rate` per second for `ms`, in 1 ms ticks. */
async function paced(rate: number, ms: number, update: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  let issued = 0;
  for (let now = t0; now - t0 < ms; now = performance.now()) {
    const due = Math.floor(((now - t0) / 1000) * rate);
    while (issued < due) update(issued++);
    await new Promise((r) => setImmediate(r));
  }
}

async function openSockets(url: string, count: number, protocol: string | undefined, rx: Receiver): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < count; i += 250) {
    const chunk = await Promise.all(Array.from({ length: Math.min(250, count - i) }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
      ws.on('open', () => resolve(ws));
      ws.on('error', reject);
      ws.on('message', rx.onMessage);
    })));
    out.push(...chunk);
  }
  return out;
}

/**
 * Which floors each socket subscribes to: socket s holds subscribers s, s + sockets, …,
 * on consecutive floors (a socket may link a node and lane only once), so every floor
 * gets subscribers / FLOORS of them.
 */
function plan(subscribers: number): { sockets: number; floorsOf: (s: number) => number[] } {
  const sockets = Math.min(subscribers, MAX_SOCKETS);
  return {
    sockets,
    floorsOf: (s) => {
      const out: number[] = [];
      for (let j = 0; s + j * sockets < subscribers; j++) out.push((s + j) % FLOORS);
      return out;
    },
  };
}

async function ours(subscribers: number, rate: number, ms: number, runs: number): Promise<Window[]> {
  const node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }) });
  const rx = new Receiver();
  const { sockets, floorsOf } = plan(subscribers);
  const socks = await openSockets(node.url.replace(/^http/, 'ws') + '/', sockets, 'warp.recon', rx);
  let synced = 0;
  for (const ws of socks) ws.on('message', (d) => (synced += d.toString().split('@synced').length - 1));
  socks.forEach((ws, s) => ws.send(floorsOf(s).map((f) => `@sync(node:"${floorPath(f)}",lane:temperature)`).join('\n')));
  while (synced < subscribers) await sleep(20);
  const drive = (r: number, d: number) => paced(r, d, (i) => {
    node.runtime.command(floorPath(i % FLOORS), 'temperature', performance.now()).catch(() => undefined);
  });
  const windows: Window[] = [];
  await rx.window(drive, rate, Math.min(ms, 300)); // warm-up
  for (let i = 0; i < runs; i++) windows.push(await rx.window(drive, rate, ms));
  for (const ws of socks) ws.terminate();
  await node.close();
  return windows;
}

async function rawBroadcast(subscribers: number, rate: number, ms: number, runs: number): Promise<Window[]> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const serverSide: WebSocket[] = [];
  wss.on('connection', (ws) => serverSide.push(ws));
  const rx = new Receiver();
  const { sockets, floorsOf } = plan(subscribers);
  const socks = await openSockets(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, sockets, undefined, rx);
  while (serverSide.length < sockets) await sleep(10);
  // Server sockets per floor (connection order matches client order closely enough: any mapping with the same counts is fair).
  const subs: WebSocket[][] = Array.from({ length: FLOORS }, () => []);
  serverSide.forEach((ws, s) => { for (const f of floorsOf(s)) subs[f]!.push(ws); });
  const drive = (r: number, d: number) => paced(r, d, (i) => {
    const f = i % FLOORS;
    const bytes = Buffer.from(`@event(node:"${floorPath(f)}",lane:temperature)${performance.now()}`);
    for (const ws of subs[f]!) ws.send(bytes, { binary: false });
  });
  const windows: Window[] = [];
  await rx.window(drive, rate, Math.min(ms, 300));
  for (let i = 0; i < runs; i++) windows.push(await rx.window(drive, rate, ms));
  for (const ws of socks) ws.terminate();
  await new Promise((r) => wss.close(r));
  return windows;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const sizes = ctx.quick ? [200, 1000] : [1000, 10_000];
  const rate = ctx.quick ? 5000 : 20_000;
  const ms = ctx.quick ? 500 : 2000;
  const runs = ctx.quick ? 3 : Math.max(3, ctx.runs);
  const figures: Figure[] = [];
  for (const n of sizes) {
    const a = await ours(n, rate, ms, runs);
    const b = await rawBroadcast(n, rate, ms, runs);
    const scenario = `fanout ${n.toLocaleString('en')} subs @ ${rate / 1000}k upd/s`;
    const base = { scenario, baselineName: 'raw ws broadcast' };
    figures.push(
      { ...base, figure: 'deliveries/s', unit: '/s', ours: a.map((w) => w.perSecond), baseline: b.map((w) => w.perSecond),
        note: `median deliveries per window: ours ${median(a.map((w) => w.deliveries))}, raw ${median(b.map((w) => w.deliveries))}` },
      { ...base, figure: 'latency p50', unit: 'ms', ours: a.map((w) => w.p50), baseline: b.map((w) => w.p50) },
      { ...base, figure: 'latency p99', unit: 'ms', ours: a.map((w) => w.p99), baseline: b.map((w) => w.p99),
        target: n >= 10_000 && !ctx.quick ? { value: 50, cmp: '<=' } : undefined },
      { ...base, figure: 'latency max', unit: 'ms', ours: a.map((w) => w.max), baseline: b.map((w) => w.max) },
    );
  }
  return figures;
}
