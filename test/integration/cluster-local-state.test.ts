/**
 * `--data` with `--cluster`: a node's local copy of its vshards' state (LMDB), reused when
 * it is provably current (the state log's last message is the one the copy was written
 * at: same stream, sequence and epoch) and never otherwise. Real nats-server, real
 * `twinflow serve` processes with their default worker threads, real LMDB in temp dirs.
 *
 * - a node stopped and started again takes every vshard back from its copy (metrics:
 *   from="local"), with the state it had, and goes on applying input;
 * - after kill -9 the same, once its old leases ran out;
 * - a copy another node has written past since (it owned the vshards meanwhile) is not
 *   trusted: every vshard restores from the log and shows the other node's writes
 *   (the test fails when the mark check is skipped: the room reads the stale value);
 * - a second node on the same directory is refused at start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterMetrics, hasNatsServer, natsCluster } from '../support/nats.js';
import { serveProcess, type ServeProcess } from '../support/serve.js';
import { pollUntil } from '../support/poll.js';

const VSHARDS = 16;
const ROOMS = Array.from({ length: 12 }, (_, i) => `/org/o/site/s/building/${i}/floor/1/unit/a/room/${i}`);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'twinflow-cluster-data-'));
  dirs.push(d);
  return d;
}

const restores = (m: Record<string, number>, from: 'log' | 'local'): number =>
  m[`twinflow_cluster_vshard_restores_total{from="${from}"}`] ?? NaN;

async function send(url: string, round: number): Promise<void> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(
      ROOMS.map((room, i) => ({
        specversion: '1.0',
        id: `r${round}-${i}`,
        source: 'test',
        type: 'reading',
        subject: `${room}/sensors/climate`,
        data: { temperature: 10 * round + i, humidity: 40 },
      })),
    ),
  });
  expect(res.status).toBe(202);
}

/** Every room shows the temperature of `round`. */
async function roomsAt(url: string, round: number): Promise<void> {
  for (const [i, room] of ROOMS.entries())
    await pollUntil(
      `${room} at round ${round}`,
      20_000,
      async () => {
        const res = await fetch(`${url}/twins${room}`);
        return res.status === 200 ? ((await res.json()) as { lanes: Record<string, unknown> }).lanes : {};
      },
      (l) => l.temperature === 10 * round + i,
    );
}

describe.skipIf(!hasNatsServer)('cluster: the local copy of vshard state (--data with --cluster)', () => {
  it('is reused after a stop and after kill -9 when current, never when another node wrote since; one node per directory', async () => {
    const nats = await natsCluster(1);
    const url = nats.urls()[0]!;
    const [dirA, dirB] = [tempDir(), tempDir()];
    const serve = (id: string, dir: string): Promise<ServeProcess> =>
      serveProcess([
        '--port',
        '0',
        '--mqtt-port',
        '0',
        '--cluster',
        url,
        '--node-id',
        id,
        '--cluster-vshards',
        String(VSHARDS),
        '--cluster-lease',
        '2000',
        '--data',
        dir,
      ]);
    const owning = (p: ServeProcess, what: string): Promise<Record<string, number>> =>
      pollUntil(
        what,
        30_000,
        () => clusterMetrics(p.url),
        (m) => m.twinflow_cluster_vshards_owned === VSHARDS && restores(m, 'log') + restores(m, 'local') === VSHARDS,
      );
    {
      // First start: nothing local yet, every vshard from its (empty) log.
      let a = await serve('a', dirA);
      const first = await owning(a, 'a owns every vshard');
      expect(restores(first, 'log')).toBe(VSHARDS);
      expect(restores(first, 'local')).toBe(0);
      await send(a.url, 1);
      await roomsAt(a.url, 1);

      // A second node on the same directory does not start.
      await expect(serve('a2', dirA)).rejects.toThrow(/TWIN_STORE_LOCKED|in use|locked/i);

      // Stopped and started again: every vshard from the copy, with its state, and input goes on.
      a.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      a = await serve('a', dirA);
      const again = await owning(a, 'a owns every vshard again');
      expect(restores(again, 'local')).toBe(VSHARDS);
      expect(restores(again, 'log')).toBe(0);
      await roomsAt(a.url, 1);
      await send(a.url, 2);
      await roomsAt(a.url, 2);

      // kill -9, then a start once the old leases ran out: the copy is still current.
      await new Promise((r) => setTimeout(r, 1_000)); // the last commits' copies reach LMDB
      a.child.kill('SIGKILL');
      await a.exited;
      a = await serve('a', dirA);
      const crashed = await owning(a, 'a owns every vshard after its kill -9');
      expect(restores(crashed, 'local')).toBe(VSHARDS);
      await roomsAt(a.url, 2);
      a.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);

      // b owns the space meanwhile and writes round 3: a's copy is behind the logs now.
      const b = await serve('b', dirB);
      await owning(b, 'b owns every vshard');
      await roomsAt(b.url, 2);
      await send(b.url, 3);
      await roomsAt(b.url, 3);
      b.child.kill('SIGTERM');
      expect((await b.exited).code).toBe(0);

      a = await serve('a', dirA);
      const stale = await owning(a, 'a owns every vshard after b');
      expect(restores(stale, 'log')).toBe(VSHARDS);
      expect(restores(stale, 'local')).toBe(0);
      await roomsAt(a.url, 3);
      a.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
    }
  }, 180_000);
});
