/** Real nats-server processes for cluster tests (Debian's, installed by scripts/install-system-deps.sh). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { LocalNatsCluster } from '../../src/cluster/local-nats.js';
import { REPO } from './serve.js';
import { tempDir } from './tmp.js';

/** True when nats-server is installed; tests that need it say they were skipped otherwise. */
export const hasNatsServer = spawnSync('sh', ['-c', 'command -v nats-server']).status === 0;

const clusters: LocalNatsCluster[] = [];
const members: ChildProcess[] = [];
afterEach(async () => {
  for (const m of members.splice(0)) if (m.exitCode === null && m.signalCode === null) m.kill('SIGKILL');
  await Promise.all(clusters.splice(0).map((c) => c.stop()));
});

/** `servers` nats-servers with JetStream in a temp dir, stopped after the test. */
export async function natsCluster(servers = 1): Promise<LocalNatsCluster> {
  const cluster = await LocalNatsCluster.start({ dir: tempDir('twinflow-nats-'), servers });
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
