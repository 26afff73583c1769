/**
 * What the cluster benchmark drives: `twinflow serve` processes (the compiled CLI, as
 * production runs it), their event counters on `/metrics`, and the lease bucket of a
 * twin space read straight from NATS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServeProc {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<void>;
}

/** Starts `twinflow serve …args` and resolves with its URL once it logs that it serves. */
export async function startServe(args: string[]): Promise<ServeProc> {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', MAIN, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never left running behind a failed bench
      reject(new Error(`serve did not start in 60 s: ${stderr}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.includes('twinflow is serving')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
      if (buf.length > 1 << 16) buf = '';
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before serving: ${stderr}`));
    });
  });
  return { child, url, exited };
}

/** kill -9, and resolves once it is gone. */
export async function killServe(p: ServeProc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

/** `twinflow_events_total` of a node (events applied to its twins). */
export async function eventsApplied(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^twinflow_events_total (\d+)$/m.exec(text);
  if (m === null) throw new Error(`no twinflow_events_total at ${url}/metrics`);
  return Number(m[1]);
}

/** Sum of {@link eventsApplied} over the nodes. */
export async function totalApplied(urls: readonly string[]): Promise<number> {
  return (await Promise.all(urls.map(eventsApplied))).reduce((a, b) => a + b, 0);
}

/** vshard → node holding its lease, from the `<space>-leases` bucket (one connection per call). */
export async function leaseOwners(servers: readonly string[], space = 'twinflow'): Promise<Map<number, string>> {
  const reader = await LeaseReader.open(servers, space);
  try {
    return await reader.owners();
  } finally {
    await reader.close();
  }
}

/** Reads the lease bucket again and again over one connection (for polls where a reconnect would cost). */
export class LeaseReader {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(servers: readonly string[], space = 'twinflow'): Promise<LeaseReader> {
    const nc = await connect({ servers: [...servers] });
    return new LeaseReader(nc, await new Kvm(nc).open(`${space}-leases`));
  }

  /** vshard → node holding its lease now. */
  async owners(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for await (const key of await this.kv.keys('v.*')) {
      const e = await this.kv.get(key);
      if (e?.operation === 'PUT') out.set(Number(key.slice(2)), (JSON.parse(e.string()) as { node: string }).node);
    }
    return out;
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/** Polls `probe` every `everyMs` until it holds; resolves with the ms it took, rejects after `ms`. */
export async function until(what: string, ms: number, probe: () => Promise<boolean>, everyMs = 100): Promise<number> {
  const t0 = performance.now();
  while (!(await probe().catch(() => false))) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return performance.now() - t0;
}

/**
 * Posts `bodies[i]` to `urls[i]` (each list on its own load thread, 4 requests in flight),
 * all starting together; resolves with when they started (performance.now()) and the ms
 * until the last one was acknowledged.
 */
export async function postAll(
  urls: readonly string[],
  bodies: readonly string[][],
): Promise<{ startedAt: number; ms: number }> {
  const workers = urls.map(() => new Worker(new URL('./http-load-worker.js', import.meta.url)));
  try {
    const reply = (w: Worker): Promise<unknown> =>
      new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
    await Promise.all(
      workers.map((w, i) => {
        const ready = reply(w);
        w.postMessage({
          url: `${urls[i]!}/events`,
          bodies: bodies[i]!,
          contentType: 'application/cloudevents-batch+json',
          concurrency: 4,
        });
        return ready;
      }),
    );
    const t0 = performance.now();
    const results = (await Promise.all(
      workers.map((w) => {
        const done = reply(w);
        w.postMessage('go');
        return done;
      }),
    )) as { ms?: number; error?: string }[];
    const failed = results.find((r) => r.error !== undefined);
    if (failed) throw new Error(failed.error);
    return { startedAt: t0, ms: performance.now() - t0 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
