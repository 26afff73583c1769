/**
 * Failover of a twin space on 3 nodes under steady load (3 clustered nats-servers, R3):
 * kill -9 of a node, then a node frozen (SIGSTOP) past its lease and woken. Every event a
 * node acknowledged is applied exactly once (a model counts applications per event id),
 * the dead node's vshards are owned again within the stated bound, and the ownership
 * logs show no two nodes active for one vshard at once.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { clusterMetrics, expectNoTwoOwners, hasNatsServer, natsCluster, ownershipPeriods } from '../support/nats.js';
import { serveProcess, type ServeProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';

const COUNTERS = 16;
const LEASE_MS = 3_000;
/**
 * Takeover bound: lease (3 s) + 3 missed heartbeats (3 s) + a settled view (2 s) + a
 * round (1 s) + restore; 15 s leaves room for a loaded 2-core machine.
 */
const TAKEOVER_BOUND_MS = 15_000;

async function owners(servers: string[]): Promise<Map<number, string>> {
  const nc = await connect({ servers });
  try {
    const kv = await new Kvm(nc).open('twinflow-leases');
    const out = new Map<number, string>();
    for await (const key of await kv.keys('v.*')) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') out.set(Number(key.slice(2)), (JSON.parse(e.string()) as { node: string }).node);
    }
    return out;
  } finally {
    await nc.close();
  }
}

async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await probe().catch(() => false))) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return Date.now() - t0;
}

/** Posts batches of uniquely numbered events to the nodes `targets()` names, and keeps what was acknowledged. */
class Load {
  readonly acked = new Set<string>();
  private n = 0;
  private running = true;
  readonly done: Promise<void>;

  constructor(private readonly targets: () => ServeProcess[]) {
    this.done = this.loop();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }

  private async loop(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const nodes = this.targets();
      const node = nodes[i % nodes.length]!;
      const batch = Array.from({ length: 20 }, () => {
        const id = `e${++this.n}`;
        return { id, source: 'load', type: 'tick', subject: `/group/g/counter/${this.n % COUNTERS}`, data: {} };
      });
      try {
        const res = await fetch(`${node.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { accepted?: number };
        if (res.status === 202 && body.accepted === batch.length) for (const e of batch) this.acked.add(e.id);
      } catch {
        // Not acknowledged (the node died or froze): the sender would send it again.
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** `twinflow serve --cluster` on the counter model, logging its ownership periods to `log`. */
function counterNode(servers: string[], id: string, log: string): Promise<ServeProcess> {
  return serveProcess([
    '--port',
    '0',
    '--mqtt-port',
    '0',
    '--models',
    'test/support/counter-models.ts',
    '--cluster',
    servers.join(','),
    '--node-id',
    id,
    '--cluster-replicas',
    '3',
    '--cluster-lease',
    String(LEASE_MS),
    '--cluster-ownership-log',
    log,
  ]);
}

/** Waits until every acknowledged event is applied (read through `node`), then: none was applied twice. */
async function expectAppliedOnce(node: ServeProcess, acked: Set<string>): Promise<void> {
  const applied = new Map<string, number>();
  await until('every acknowledged event is applied', 30_000, async () => {
    applied.clear();
    for (let k = 0; k < COUNTERS; k++) {
      const res = await fetch(`${node.url}/twins/group/g/counter/${k}`);
      if (res.status !== 200) return false;
      const lanes = ((await res.json()) as { lanes: { applied: Record<string, number> } }).lanes;
      for (const [id, n] of Object.entries(lanes.applied)) applied.set(id, n);
    }
    return [...acked].every((id) => applied.has(id));
  }).catch((err: Error) => {
    const missing = [...acked].filter((id) => !applied.has(id));
    throw new Error(`${err.message}: ${missing.length} of ${acked.size} missing (${missing.slice(0, 5).join(', ')}…)`);
  });
  expect([...applied].filter(([, n]) => n !== 1)).toEqual([]);
}

describe.skipIf(!hasNatsServer)('failover of a twin space on 3 nodes (serve --cluster, 3 nats-servers)', () => {
  it('kill -9 and a frozen node under load: every acknowledged event applied exactly once, vshards owned again within the bound, never two owners', async () => {
    const nats = await natsCluster(3);
    const dir = tempDir();
    const logs = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, join(dir, `${id}.jsonl`)]));
    const start = (id: string): Promise<ServeProcess> => counterNode(nats.urls(), id, logs[id]!);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(start));
    await until('3 nodes own all 256 vshards', 20_000, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && new Set(o.values()).size === 3;
    });

    let alive = [a!, b!, c!];
    const load = new Load(() => alive);
    await new Promise((r) => setTimeout(r, 2_000));

    // kill -9 of c under load.
    alive = [a!, b!];
    const killedNs = process.hrtime.bigint();
    c!.child.kill('SIGKILL');
    await c!.exited;
    const takeover = await until('a and b own every vshard', TAKEOVER_BOUND_MS, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && [...o.values()].every((n) => n === 'a' || n === 'b');
    });
    expect(takeover).toBeLessThan(TAKEOVER_BOUND_MS);

    // b frozen past its lease (a GC pause, SIGSTOP), then woken: its late work is fenced.
    alive = [a!];
    b!.child.kill('SIGSTOP');
    await until('a owns every vshard while b is frozen', TAKEOVER_BOUND_MS, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && [...o.values()].every((n) => n === 'a');
    });
    b!.child.kill('SIGCONT');
    await until('b takes its share again', TAKEOVER_BOUND_MS, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && [...o.values()].includes('b');
    });
    alive = [a!, b!];
    await new Promise((r) => setTimeout(r, 2_000));
    await load.stop();
    expect(load.acked.size).toBeGreaterThan(1_000);

    // Every acknowledged event applied once; nothing (acknowledged or not) applied twice.
    await expectAppliedOnce(a!, load.acked);

    // The ownership logs: no vshard had two active owners at any time, epochs rose.
    expectNoTwoOwners(ownershipPeriods(logs, { c: killedNs }));
  }, 150_000);

  // While one server of three is down, nats-server 2.9.10 times out consumer creation again
  // and again and can leave a consumer quiet for good: fails if membership or restores make
  // consumers, if lease renewals wait behind a heartbeat, or without the stalled-consumer
  // check (acknowledged events never applied).
  it('kill -9 of the nats-server leading the input stream under load: nothing acknowledged is lost, ingest resumes', async () => {
    const nats = await natsCluster(3);
    const dir = tempDir();
    const nodes = await Promise.all(
      ['a', 'b', 'c'].map((id) => counterNode(nats.urls(), id, join(dir, `${id}.jsonl`))),
    );
    await until('3 nodes own all 256 vshards', 20_000, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && new Set(o.values()).size === 3;
    });
    const load = new Load(() => nodes);
    await new Promise((r) => setTimeout(r, 2_000));

    const nc = await connect({ servers: nats.urls() });
    const leader = (await (await jetstreamManager(nc)).streams.info('twinflow-in')).cluster?.leader;
    await nc.close();
    const index = nats.servers.findIndex((s) => s.name === leader);
    expect(index).toBeGreaterThanOrEqual(0);
    await nats.killServer(index);
    const before = load.acked.size;
    await until('ingest resumes on the other two servers', 20_000, async () => load.acked.size > before + 500);
    await new Promise((r) => setTimeout(r, 1_000));
    await load.stop();
    await expectAppliedOnce(nodes[0]!, load.acked);
    // What an operator sees of it: input consumers made again (those the killed server held;
    // a node whose consumers lived on the other servers may have none), nothing refused for good.
    const metrics = await Promise.all(nodes.map((n) => clusterMetrics(n.url)));
    const restarts = metrics.reduce((sum, m) => sum + m['twinflow_cluster_input_consumer_restarts_total']!, 0);
    expect(restarts).toBeGreaterThan(0);
    for (const m of metrics) expect(m['twinflow_cluster_input_not_applied_total{reason="refused"}']).toBe(0);
  }, 120_000);

  it('a node joins and one leaves under load: vshards rebalance, nothing is lost or applied twice', async () => {
    const nats = await natsCluster(3);
    const dir = tempDir();
    const logs = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, join(dir, `${id}.jsonl`)]));
    const [a, b] = await Promise.all(['a', 'b'].map((id) => counterNode(nats.urls(), id, logs[id]!)));
    await until('2 nodes own all 256 vshards', 20_000, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && new Set(o.values()).size === 2;
    });
    let alive = [a!, b!];
    const load = new Load(() => alive);
    await new Promise((r) => setTimeout(r, 1_500));
    const c = await counterNode(nats.urls(), 'c', logs.c!);
    alive = [a!, b!, c];
    await until('c takes its share', 20_000, async () => [...(await owners(nats.urls())).values()].includes('c'));
    // b leaves gracefully (SIGTERM): its vshards are handed off, not left to expire.
    alive = [a!, c];
    b!.child.kill('SIGTERM');
    expect((await b!.exited).code).toBe(0);
    await until('a and c own every vshard', 10_000, async () => {
      const o = await owners(nats.urls());
      return o.size === 256 && [...o.values()].every((n) => n === 'a' || n === 'c');
    });
    await new Promise((r) => setTimeout(r, 1_500));
    await load.stop();
    expect(load.acked.size).toBeGreaterThan(500);
    await expectAppliedOnce(c, load.acked);
    expectNoTwoOwners(ownershipPeriods(logs));
  }, 120_000);
});
