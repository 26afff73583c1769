/**
 * cluster restart: what a node's local copy of its vshards' state (`--data` with
 * `--cluster`) saves when it restarts. One nats-server, one `twinflow serve --cluster
 * --data <dir>` node holding many twins (one climate sensor per event, each with its room,
 * unit, floor, building, site and org), stopped gracefully (SIGTERM: every vshard
 * checkpointed, leases released) and started again:
 * - from its local copy (the directory kept): every vshard restores from LMDB;
 * - from the state logs (the directory emptied before the start): every vshard reads its
 *   snapshot from JetStream — the baseline, in the same run, alternating with the above.
 * Timed from the process's spawn until every one of the 256 vshards has started (the
 * node's `twinflow_cluster_vshard_restores_total`), and checked: the restores came from
 * where they should.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNatsCluster } from '../src/cluster/local-nats.js';
import type { BenchContext, Figure } from './lib/harness.js';
import { postAll, startServe, totalApplied, until, type ServeProc } from './lib/cluster-procs.js';

const VSHARDS = 256;
const PER_BATCH = 500;

/** The climate sensor of room `i`: 64 buildings (the shard key), 4 floors each, 16 units per floor. */
function sensor(i: number): string {
  return `/org/o/site/s${i % 4}/building/b${i % 64}/floor/${(i >> 6) % 4}/unit/u${(i >> 8) % 16}/room/r${i >> 12}/sensors/climate`;
}

/** One reading per sensor, as request bodies. */
function bodies(sensors: number): string[] {
  const out: string[] = [];
  for (let b = 0; b * PER_BATCH < sensors; b++)
    out.push(
      JSON.stringify(
        Array.from({ length: Math.min(PER_BATCH, sensors - b * PER_BATCH) }, (_, k) => ({
          specversion: '1.0',
          id: `r.${b * PER_BATCH + k}`,
          source: 'urn:bench',
          type: 'reading',
          subject: sensor(b * PER_BATCH + k),
          data: { temperature: 20 + (k % 8) / 4, humidity: 40 },
        })),
      ),
    );
  return out;
}

/** The node's vshard starts so far, by source. */
async function restores(url: string): Promise<{ log: number; local: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (from: string): number =>
    Number(new RegExp(`^twinflow_cluster_vshard_restores_total\\{from="${from}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { log: read('log'), local: read('local') };
}

async function stopGracefully(p: ServeProc): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exited;
}

export async function restartFigures(ctx: BenchContext): Promise<Figure[]> {
  const sensors = ctx.quick ? 20_000 : 100_000;
  const rounds = ctx.quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'twinflow-bench-restart-'));
  const nats = await LocalNatsCluster.start({ dir: join(dir, 'nats'), servers: 1 });
  const data = join(dir, 'data');
  const args = ['--port', '0', '--mqtt-port', '0', '--cluster', nats.urls()[0]!, '--node-id', 'n1', '--data', data];
  /** vshards restored from the local copy in the `local` rounds (a few may fall back to the log: safe, counted). */
  const fromLocal: number[] = [];
  const timed = async (expect: 'log' | 'local'): Promise<number> => {
    const t0 = performance.now();
    const node = await startServe(args);
    const started = async (): Promise<boolean> => {
      const r = await restores(node.url);
      return r.log + r.local >= VSHARDS;
    };
    await until(`every vshard restored from ${expect}`, 300_000, started, 20);
    const ms = performance.now() - t0;
    const r = await restores(node.url);
    await stopGracefully(node);
    // With the directory gone nothing may come from it; with it kept, what did is reported.
    if (expect === 'log' && r.local !== 0) throw new Error(`restores from a removed copy: ${JSON.stringify(r)}`);
    if (expect === 'local') fromLocal.push(r.local);
    return ms;
  };
  try {
    process.stderr.write(`cluster restart: filling ${sensors} sensors…\n`);
    const first = await startServe(args);
    await postAll([first.url], [bodies(sensors)]);
    await until('every reading applied', 600_000, async () => (await totalApplied([first.url])) >= sensors, 100);
    await stopGracefully(first);
    const local: number[] = [];
    const log: number[] = [];
    for (let r = 0; r < rounds; r++) {
      local.push(await timed('local'));
      rmSync(data, { recursive: true, force: true }); // the copy gone: the logs it is
      log.push(await timed('log'));
    }
    return [
      {
        scenario: 'cluster',
        figure: `restart of a node holding ${sensors / 1000}k sensors' twins: every vshard started, from its local copy`,
        unit: 'ms',
        ours: local,
        baseline: log,
        baselineName: 'from the state logs',
        note: `1 node, 1 nats-server, 256 vshards; spawn to every vshard started; graceful stop before each start; vshards from the local copy per round: ${fromLocal.join(', ')} of ${VSHARDS} (the rest from the log)`,
      },
    ];
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
