/**
 * cluster: a twin space on `twinflow serve --cluster` nodes (separate processes, NATS
 * JetStream on nats-servers on loopback), beside single-node mode (`serve` without
 * --cluster, LMDB in a temp dir) in the same run, all fed the same HTTP batches
 * (`application/cloudevents-batch+json`, 500 per request, 4 in flight per node, spread
 * over the nodes):
 * - ingested events/s: until every batch was acknowledged (202: in JetStream for a cluster
 *   node, applied and committed for a single node);
 * - applied events/s: until the nodes' `twinflow_events_total` rose by every event;
 * with 1, 2 and 3 nodes on one nats-server (R1) and 3 nodes on 3 clustered nats-servers (R3);
 * - failover (3 nodes, 3 nats-servers): kill -9 of a node, then the time until its vshards'
 *   leases are held by live nodes, and until probe events posted right after the kill (one
 *   per sensor, so every vshard with twins gets some) are all applied.
 * - restart (cluster-restart.ts): a node with `--data` started again from its local copy,
 *   against the same start from the state logs.
 * Default cluster settings: 256 vshards, lease 5 s, heartbeat 1 s, a view stable for 2 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNatsCluster } from '../src/cluster/local-nats.js';
import { restartFigures } from './cluster-restart.js';
import { hasNatsServer } from './lib/nats.js';
import type { BenchContext, Figure } from './lib/harness.js';
import {
  killServe,
  LeaseReader,
  leaseOwners,
  postAll,
  startServe,
  totalApplied,
  until,
  type ServeProc,
} from './lib/cluster-procs.js';

const VSHARDS = 256;
const PER_BATCH = 500;
/** 64 buildings (the default shard key), so the twins spread over many vshards. */
const SENSORS = Array.from(
  { length: 2048 },
  (_, i) =>
    `/org/bench/site/s${i % 4}/building/b${i % 64}/floor/${(i >> 6) % 4}/unit/u${(i >> 8) % 2}/room/${(i >> 9) % 4}/sensors/climate`,
);

interface Setup {
  readonly label: string;
  readonly nodes: number;
  /** 0: single-node mode (no NATS). */
  readonly natsServers: 0 | 1 | 3;
}

const SETUPS: Setup[] = [
  { label: 'single node (no --cluster, LMDB)', nodes: 1, natsServers: 0 },
  { label: '1 node, 1 nats-server', nodes: 1, natsServers: 1 },
  { label: '2 nodes, 1 nats-server', nodes: 2, natsServers: 1 },
  { label: '3 nodes, 1 nats-server', nodes: 3, natsServers: 1 },
  { label: '3 nodes, 3 nats-servers (R3)', nodes: 3, natsServers: 3 },
];

/** Batches of events with ids unique to `pass`, as request bodies dealt round-robin to `nodes` lists. */
function bodies(pass: number, events: number, nodes: number): string[][] {
  const time = new Date(1_700_000_000_000).toISOString();
  const out: string[][] = Array.from({ length: nodes }, () => []);
  for (let b = 0; b * PER_BATCH < events; b++) {
    const batch = Array.from({ length: Math.min(PER_BATCH, events - b * PER_BATCH) }, (_, i) => {
      const k = b * PER_BATCH + i;
      return {
        specversion: '1.0',
        id: `${pass}.${k}`,
        source: 'urn:bench',
        type: 'reading',
        subject: SENSORS[k % SENSORS.length]!,
        time,
        data: { temperature: 18 + (k % 16) / 4, humidity: 40 },
      };
    });
    out[b % nodes]!.push(JSON.stringify(batch));
  }
  return out;
}

/** A running setup: its processes and how to stop them. */
class Deployment {
  private constructor(
    readonly setup: Setup,
    readonly dir: string,
    readonly nats: LocalNatsCluster | undefined,
    readonly nodes: ServeProc[],
  ) {}

  static async start(setup: Setup): Promise<Deployment> {
    const dir = mkdtempSync(join(tmpdir(), 'twinflow-bench-cluster-'));
    if (setup.natsServers === 0) {
      const node = await startServe(['--port', '0', '--mqtt-port', '0', '--data', join(dir, 'data')]);
      return new Deployment(setup, dir, undefined, [node]);
    }
    const nats = await LocalNatsCluster.start({ dir: join(dir, 'nats'), servers: setup.natsServers });
    const d = new Deployment(setup, dir, nats, []);
    try {
      for (let i = 0; i < setup.nodes; i++) d.nodes.push(await d.startNode(i));
      await d.settled(setup.nodes);
    } catch (err) {
      await d.stop(); // nothing left running when a setup fails
      throw err;
    }
    return d;
  }

  urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Node `i` (id n<i+1>) of a cluster setup. */
  startNode(i: number): Promise<ServeProc> {
    return startServe([
      ...['--port', '0', '--mqtt-port', '0', '--cluster', this.nats!.urls().join(',')],
      ...['--node-id', `n${i + 1}`, '--cluster-replicas', String(this.setup.natsServers)],
    ]);
  }

  /** Every vshard's lease held, by exactly `nodes` nodes, and still so a view-settle later. */
  async settled(nodes: number): Promise<void> {
    const probe = async (): Promise<boolean> => {
      const owners = await leaseOwners(this.nats!.urls());
      return owners.size === VSHARDS && new Set(owners.values()).size === nodes;
    };
    await until(`${nodes} nodes own all ${VSHARDS} vshards`, 120_000, probe, 500);
    await new Promise((r) => setTimeout(r, 3_000));
    await until(`${nodes} nodes still own all ${VSHARDS} vshards`, 60_000, probe, 500);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(killServe));
    await this.nats?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One pass of `events` events: ingested and applied events/s. */
async function pass(d: Deployment, n: number, events: number): Promise<{ ingested: number; applied: number }> {
  const urls = d.urls();
  const base = await totalApplied(urls);
  const { startedAt, ms } = await postAll(urls, bodies(n, events, urls.length));
  await until('every event applied', 300_000, async () => (await totalApplied(urls)) - base >= events, 50);
  const appliedMs = performance.now() - startedAt;
  return { ingested: events / (ms / 1000), applied: events / (appliedMs / 1000) };
}

/** kill -9 of node n2, probe events into n1 at once; ms until the leases moved and until the probes applied. */
async function failover(d: Deployment, round: number): Promise<{ owned: number; applied: number; moved: number }> {
  const servers = d.nats!.urls();
  const victim = d.nodes[1]!;
  const moved = [...(await leaseOwners(servers)).values()].filter((n) => n === 'n2').length;
  const survivors = [d.nodes[0]!, d.nodes[2]!].map((n) => n.url);
  const base = await totalApplied(survivors);
  const probes = SENSORS.length;
  const leases = await LeaseReader.open(servers);
  const t0 = performance.now();
  await killServe(victim);
  const posted = postAll([survivors[0]!], bodies(1_000_000 + round, probes, 1));
  const owned = until(
    "the dead node's vshards leased by live nodes",
    60_000,
    async () => {
      const owners = await leases.owners();
      return owners.size === VSHARDS && ![...owners.values()].includes('n2');
    },
    50,
  ).then(() => performance.now() - t0);
  const applied = posted
    .then(() =>
      until('the probe events applied', 60_000, async () => (await totalApplied(survivors)) - base >= probes, 50),
    )
    .then(() => performance.now() - t0);
  const result = { owned: await owned, applied: await applied, moved };
  await leases.close();
  // n2 back, and the vshards rebalanced, for the next round.
  d.nodes[1] = await d.startNode(1);
  await d.settled(3);
  return result;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const scenario = 'cluster';
  if (!hasNatsServer)
    return [
      {
        scenario,
        figure: 'cluster benchmarks',
        unit: '',
        ours: [NaN],
        note: 'nats-server not installed (scripts/install-system-deps.sh nats-server)',
      },
    ];
  const events = ctx.quick ? 10_000 : 50_000;
  const runs = ctx.quick ? 1 : 3;
  const figures: Figure[] = [];
  let single: { ingested: number[]; applied: number[] } | undefined;
  for (const setup of SETUPS) {
    if (ctx.quick && setup.natsServers === 1 && setup.nodes === 2) continue;
    process.stderr.write(`cluster: ${setup.label}…\n`);
    const d = await Deployment.start(setup);
    try {
      await pass(d, 0, events); // warm-up: the twins start, the JIT warms
      const results = [];
      for (let r = 1; r <= runs; r++) results.push(await pass(d, r, events));
      const ingested = results.map((x) => x.ingested);
      const applied = results.map((x) => x.applied);
      const base = setup.natsServers === 0 ? undefined : single;
      for (const [figure, ours, baseline] of [
        ['ingested events/s (HTTP 202)', ingested, base?.ingested],
        ['applied events/s', applied, base?.applied],
      ] as const)
        figures.push({
          scenario,
          figure: `${figure}, ${setup.label}`,
          unit: 'ev/s',
          ours: [...ours],
          ...(baseline && { baseline: [...baseline], baselineName: 'single node' }),
        });
      if (setup.natsServers === 0) single = { ingested, applied };
      if (setup.nodes === 3 && setup.natsServers === 3) {
        const rounds = [];
        for (let r = 0; r < (ctx.quick ? 1 : 3); r++) rounds.push(await failover(d, r));
        figures.push(
          {
            scenario,
            figure: "failover: kill -9 → the dead node's vshards leased again",
            unit: 'ms',
            ours: rounds.map((x) => x.owned),
            note: `3 nodes, 3 nats-servers, lease 5 s; the killed node held ${rounds.map((x) => x.moved).join(', ')} of ${VSHARDS} vshards`,
          },
          {
            scenario,
            figure: 'failover: kill -9 → probe events posted after it all applied',
            unit: 'ms',
            ours: rounds.map((x) => x.applied),
          },
        );
      }
    } finally {
      await d.stop();
    }
  }
  process.stderr.write('cluster: restart from the local copy…\n');
  figures.push(...(await restartFigures(ctx)));
  return figures;
}
