/**
 * `twinflow cluster demo` (npm run cluster:demo) with ports 0: 3 nats-servers and 3 nodes
 * come up, the printed commands work (an event into the first node is read back from the
 * last), and SIGINT, as a terminal's Ctrl-C sends it, stops every process it started and
 * removes its files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasNatsServer } from '../support/nats.js';
import { MAIN, REPO } from '../support/serve.js';

let demo: ChildProcess | undefined;
let pids: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  // A failed test must not leave the demo's detached processes behind.
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  demo = undefined;
  pids = [];
});

describe.skipIf(!hasNatsServer)('twinflow cluster demo', () => {
  it('starts 3 nats-servers and 3 nodes, prints working commands, and Ctrl-C stops everything', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'cluster', 'demo', '--http-port', '0', '--mqtt-port', '0', '--cluster-vshards', '16'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    demo = child;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let output = '';
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not ready in 90 s:\n${output}`)), 90_000);
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        // Every pid as soon as it is printed: the cleanup needs them even if the demo never gets ready.
        pids = [...output.matchAll(/\bpids? ((?:\d+ ?)+)/g)].flatMap((m) => m[1]!.trim().split(' ').map(Number));
        if (output.includes('Ctrl-C stops everything.')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => reject(new Error(`demo exited (${code}):\n${output}`)));
    });
    expect(pids).toHaveLength(6);
    expect(output).toMatch(/every vshard has an owner \(node-1: \d+, node-2: \d+, node-3: \d+\)/);
    const dir = /files in (\S+)/.exec(output)![1]!;
    expect(existsSync(dir)).toBe(true);

    // The printed curl lines, run as fetches: an event into node-1, read back from node-3.
    const post = /curl -X POST (\S+) -H 'content-type: application\/json' -d '(.+)'/.exec(output)!;
    const res = await fetch(post[1]!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: post[2],
    });
    expect(res.status).toBe(202);
    const read = /^ {2}curl (http\S+)$/m.exec(output)![1]!;
    expect(post[1]!.startsWith(/node-1 +http (\S+)/.exec(output)![1]!)).toBe(true);
    expect(read.startsWith(/node-3 +http (\S+)/.exec(output)![1]!)).toBe(true);
    const deadline = Date.now() + 15_000;
    let lanes: Record<string, unknown> = {};
    while (lanes.temperature !== 22.5 && Date.now() < deadline) {
      const r = await fetch(read);
      if (r.status === 200) lanes = ((await r.json()) as { lanes: Record<string, unknown> }).lanes;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(lanes.temperature).toBe(22.5);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopping: the nodes hand their vshards off, then the nats-servers stop');
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 150_000);
});
