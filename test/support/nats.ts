/** Real nats-server processes for cluster tests (Debian's, installed by scripts/install-system-deps.sh). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { afterEachTest } from './cleanup.js';
import type { OwnershipInterval } from '../../src/cluster/ownership-log.js';
import { LocalNatsCluster } from '../../src/cluster/local-nats.js';
import { REPO } from './serve.js';
import { tempDir } from './tmp.js';

/** True when nats-server is installed; tests that need it say they were skipped otherwise. */
export const hasNatsServer = spawnSync('sh', ['-c', 'command -v nats-server']).status === 0;

const clusters: LocalNatsCluster[] = [];
const members: ChildProcess[] = [];
afterEachTest(async () => {
  for (const m of members.splice(0)) if (m.exitCode === null && m.signalCode === null) m.kill('SIGKILL');
  await Promise.all(clusters.splice(0).map((c) => c.stop()));
});

/** `servers` nats-servers with JetStream in a temp dir (`config`: lines added to each one's configuration), stopped after the test. */
export async function natsCluster(servers = 1, config?: string): Promise<LocalNatsCluster> {
  const cluster = await LocalNatsCluster.start({ dir: tempDir('twinflow-nats-'), servers, ...(config && { config }) });
  clusters.push(cluster);
  return cluster;
}

export interface MemberProcess {
  readonly child: ChildProcess;
  /** Lines the member printed so far, parsed. */
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** test/support/cluster-member.ts as a child process; resolves once it joined. */
export async function memberProcess(options: object): Promise<MemberProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/cluster-member.ts', JSON.stringify(options)],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  members.push(child);
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(line);
        if ('ready' in line) resolve();
      }
    });
    void exited.then((code) => reject(new Error(`cluster member exited (${code}) before joining`)));
  });
  return { child, lines, exited };
}

/**
 * The ownership periods of the nodes whose logs are given. A period a killed node left
 * open ended at its kill time (`killed`: node → process.hrtime.bigint() at the kill); one
 * a running node has open has not ended (it lasts "forever", so any later owner overlaps).
 */
export function ownershipPeriods(
  files: Record<string, string>,
  killed: Record<string, bigint> = {},
): OwnershipInterval[] {
  const lines = Object.values(files)
    .filter((f) => existsSync(f))
    .flatMap((f) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as OwnershipInterval),
    );
  const key = (p: OwnershipInterval): string => `${p.node}/${p.epoch}/${p.vshard}`;
  const ended = new Set(lines.filter((p) => p.end !== undefined).map(key));
  const open = lines.filter((p) => p.end === undefined && !ended.has(key(p)));
  const forever = (2n ** 63n - 1n).toString();
  return [
    ...lines.filter((p) => p.end !== undefined),
    ...open.map((p) => ({ ...p, end: killed[p.node]?.toString() ?? forever })),
  ];
}

/** Per vshard: no two periods overlap, and each later period has a higher epoch. */
export function expectNoTwoOwners(periods: OwnershipInterval[]): void {
  const byVshard = new Map<number, OwnershipInterval[]>();
  for (const p of periods) byVshard.set(p.vshard, [...(byVshard.get(p.vshard) ?? []), p]);
  for (const [v, list] of byVshard) {
    const ps = list.sort((x, y) => (BigInt(x.start) < BigInt(y.start) ? -1 : 1));
    for (let i = 1; i < ps.length; i++) {
      expect(BigInt(ps[i]!.start) > BigInt(ps[i - 1]!.end!), `vshard ${v}: ${JSON.stringify(ps)}`).toBe(true);
      expect(ps[i]!.epoch).toBeGreaterThan(ps[i - 1]!.epoch);
    }
  }
}

/** The `twinflow_cluster_*` samples of a node's `/metrics`, by name and labels. */
export async function clusterMetrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.startsWith('twinflow_cluster_'))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  );
}
