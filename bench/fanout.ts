/**
 * fanout: N WARP subscribers (1,000 and 10,000 links) synced to floor `temperature` lanes
 * while the floors update at a fixed rate; deliveries/s and update-to-delivery latency
 * p50/p99. Baseline in the same run: a raw `ws` server broadcasting the same bytes, one
 * frame per subscriber per update, to the same number of sockets and subscribers.
 *
 * The subscribers run in a child process (lib/fanout-clients.ts), as they would on other
 * machines; this process runs only the server (and the update driver). Subscribers are
 * links spread over at most 2,500 sockets (4 links per socket at 10 k), as in the earlier
 * in-process runs, so figures stay comparable. Each update's value is its send time on
 * the shared clock (lib/fanout-probe.ts), so the receiver reads the latency off the envelope.
 *
 * Before the measured windows, one window of the same length is run and discarded: with a
 * 300 ms warm-up the first measured window was consistently the worst (the optimising
 * compiler, which competes for the same 2 cores, and heap sizing were still settling).
 */
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { buildingModels } from '../models/index.js';
import { startNode } from '../src/index.js';
import { median, type BenchContext, type Figure } from './lib/harness.js';
import { FanoutClients, sharedNow, type Window } from './lib/fanout-probe.js';

const FLOORS = 1000;
const MAX_SOCKETS = 2500;
const floorPath = (i: number) => `/org/bench/site/s0/building/b${Math.floor(i / 10) % 100}/floor/${i % 10}`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `update(i, due)` at `rate` per second for `ms`, in ticks of ~1 ms (a timer, not a
 * setImmediate spin, so the server's event loop sleeps when it has nothing to do and its
 * utilisation is measurable; updates arrive in small batches, as from a network).
 *
 * `due` is when update i was scheduled, on the shared clock, and is what the update carries
 * as its send time: a server whose event loop falls behind issues updates late, and that
 * wait is part of their latency (as a device's reading waits in a socket buffer); stamping
 * the time of issue instead would hide it (coordinated omission).
 */
async function paced(rate: number, ms: number, update: (i: number, due: number) => void): Promise<void> {
  const origin = sharedNow(); // the same instant as t0, on the clock the receiver compares with
  const t0 = performance.now();
  const total = Math.floor((ms / 1000) * rate);
  // Until every update of the window was issued, also when a slow tick overran its end.
  for (let issued = 0; issued < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; issued < due; issued++) update(issued, origin + ((issued + 1) * 1000) / rate);
    if (issued < total) await new Promise((r) => setTimeout(r, 1));
  }
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

export async function ours(
  clients: FanoutClients,
  subscribers: number,
  rate: number,
  ms: number,
  runs: number,
  /** An access file and a token for every socket (`?token=`): the cost of access rules. */
  auth?: { file: string; token: string },
): Promise<Window[]> {
  const node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    access: auth?.file,
  });
  const { sockets, floorsOf } = plan(subscribers);
  const subscribe = Array.from({ length: sockets }, (_, s) =>
    floorsOf(s)
      .map((f) => `@sync(node:"${floorPath(f)}",lane:temperature)`)
      .join('\n'),
  );
  const query = auth ? `?token=${encodeURIComponent(auth.token)}` : '';
  await clients.open(node.url.replace(/^http/, 'ws') + '/' + query, sockets, subscribe, 'warp.recon');
  const drive = (d: number) => () =>
    paced(rate, d, (i, due) => {
      node.runtime.command(floorPath(i % FLOORS), 'temperature', due).catch(() => undefined);
    });
  const windows: Window[] = [];
  await clients.window(drive(ms)); // warm-up, discarded (see the header)
  for (let i = 0; i < runs; i++) windows.push(await clients.window(drive(ms)));
  await clients.closeSockets();
  await node.close();
  return windows;
}

export async function rawBroadcast(
  clients: FanoutClients,
  subscribers: number,
  rate: number,
  ms: number,
  runs: number,
): Promise<Window[]> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const serverSide: WebSocket[] = [];
  wss.on('connection', (ws) => serverSide.push(ws));
  const { sockets, floorsOf } = plan(subscribers);
  await clients.open(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, sockets, null);
  while (serverSide.length < sockets) await sleep(10);
  // Server sockets per floor (connection order matches client order closely enough: any mapping with the same counts is fair).
  const subs: WebSocket[][] = Array.from({ length: FLOORS }, () => []);
  serverSide.forEach((ws, s) => {
    for (const f of floorsOf(s)) subs[f]!.push(ws);
  });
  const drive = (d: number) => () =>
    paced(rate, d, (i, due) => {
      const f = i % FLOORS;
      const bytes = Buffer.from(`@event(node:"${floorPath(f)}",lane:temperature)${due}`);
      for (const ws of subs[f]!) ws.send(bytes, { binary: false });
    });
  const windows: Window[] = [];
  await clients.window(drive(ms)); // warm-up, discarded (see the header)
  for (let i = 0; i < runs; i++) windows.push(await clients.window(drive(ms)));
  await clients.closeSockets();
  await new Promise((r) => wss.close(r));
  return windows;
}

function pct(windows: Window[], key: 'serverBusy' | 'clientCpu'): string {
  return `${(100 * median(windows.map((w) => w[key]))).toFixed(0)} %`;
}

/** Deliveries a window of `updates` updates owes the subscribers if nothing is conflated. */
function offered(subscribers: number, updates: number): number {
  const perFloor = new Array<number>(FLOORS).fill(0);
  const { sockets, floorsOf } = plan(subscribers);
  for (let s = 0; s < sockets; s++) for (const f of floorsOf(s)) perFloor[f]!++;
  let n = 0;
  for (let i = 0; i < updates; i++) n += perFloor[i % FLOORS]!;
  return n;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const sizes = ctx.quick ? [200, 1000] : [1000, 10_000];
  const rate = ctx.quick ? 5000 : 20_000;
  const ms = ctx.quick ? 500 : 2000;
  const runs = ctx.quick ? 3 : Math.max(3, ctx.runs);
  const figures: Figure[] = [];
  const clients = await FanoutClients.fork();
  try {
    for (const n of sizes) figures.push(...(await size(clients, n, rate, ms, runs, ctx.quick)));
  } finally {
    clients.kill();
  }
  return figures;
}

async function size(
  clients: FanoutClients,
  n: number,
  rate: number,
  ms: number,
  runs: number,
  quick: boolean,
): Promise<Figure[]> {
  const a = await ours(clients, n, rate, ms, runs);
  const b = await rawBroadcast(clients, n, rate, ms, runs);
  const scenario = `fanout ${n.toLocaleString('en')} subs @ ${rate / 1000}k upd/s`;
  const base = { scenario, baselineName: 'raw ws broadcast' };
  const expected = offered(n, (rate * ms) / 1000);
  return [
    {
      ...base,
      figure: 'deliveries/s',
      unit: '/s',
      ours: a.map((w) => w.perSecond),
      baseline: b.map((w) => w.perSecond),
      note:
        `median deliveries per window (offered ${expected}): ours ${median(a.map((w) => w.deliveries))}, raw ${median(b.map((w) => w.deliveries))}; ` +
        `subscribers in a child process, clock offset ${clients.offsetMs.toFixed(3)} ± ${clients.offsetErrorMs.toFixed(3)} ms (corrected)`,
    },
    {
      ...base,
      figure: 'server CPU (one core = 100)',
      unit: '%',
      ours: a.map((w) => 100 * w.serverCpu),
      baseline: b.map((w) => 100 * w.serverCpu),
      note:
        `medians, ours / raw: server event loop busy ${pct(a, 'serverBusy')} / ${pct(b, 'serverBusy')}, subscriber process CPU ${pct(a, 'clientCpu')} / ${pct(b, 'clientCpu')} ` +
        '(busy well above CPU means the server waited for a core: the machine, not the server, was the limit)',
    },
    { ...base, figure: 'latency p50', unit: 'ms', ours: a.map((w) => w.p50), baseline: b.map((w) => w.p50) },
    {
      ...base,
      figure: 'latency p99',
      unit: 'ms',
      ours: a.map((w) => w.p99),
      baseline: b.map((w) => w.p99),
      target: n >= 10_000 && !quick ? { value: 50, cmp: '<=' } : undefined,
    },
    { ...base, figure: 'latency max', unit: 'ms', ours: a.map((w) => w.max), baseline: b.map((w) => w.max) },
  ];
}
