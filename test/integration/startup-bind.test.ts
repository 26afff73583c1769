/**
 * #13.9: a node that cannot bind one of its listeners must exit at once, non-zero, with one
 * clear line, so a supervisor restarts it (it used to log EADDRINUSE and run on without
 * HTTP, kept alive by the broker's timers). Run through the real CLI process, with worker
 * threads and LMDB as `npm start` has them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/mqtt.js';
import { serveProcess, twinflowArgs } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';

const REPO = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
const holders: Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of holders.splice(0)) await new Promise((r) => s.close(r));
});

/** A port some other process (here: this one) already listens on. */
async function takenPort(): Promise<number> {
  const srv = createServer();
  holders.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as AddressInfo).port;
}

/** `twinflow serve <args>` until it exits (or `limitMs` passes): exit code, stderr, time taken. */
async function serveUntilExit(
  args: string[],
  limitMs: number,
): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    twinflowArgs(['serve', '--workers', '2', '--data', join(tempDir('tf-bind-'), 'db'), ...args]),
    {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => {
    const timer = setTimeout(() => r(null), limitMs);
    child.once('exit', (c) => (clearTimeout(timer), r(c ?? -1)));
  });
  return { code, stderr, ms: Date.now() - t0 };
}

describe('#13.9 startup fails fast when a listener cannot bind', () => {
  it('#13.9 the MQTT port taken: exits non-zero with one clear line', async () => {
    const mqtt = await takenPort();
    const r = await serveUntilExit(['--port', '0', '--mqtt-port', String(mqtt)], 30_000);
    expect(r.code, `still running after ${r.ms} ms; stderr: ${r.stderr}`).not.toBeNull();
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `twinflow serve: MQTT port ${mqtt} on 127.0.0.1 is already in use (another process listens there; choose another with --mqtt-port)`,
    ]);
  }, 40_000);

  it('#13.9 the HTTP port taken: exits non-zero with one clear line (and frees the MQTT port it had bound)', async () => {
    const http = await takenPort();
    const mqtt = await freePort();
    const r = await serveUntilExit(['--port', String(http), '--mqtt-port', String(mqtt)], 30_000);
    expect(r.code, `still running after ${r.ms} ms; stderr: ${r.stderr}`).not.toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      `twinflow serve: HTTP port ${http} on 127.0.0.1 is already in use (another process listens there; choose another with --port)`,
    ]);
    // The broker it started before HTTP failed is closed: the port can be bound again.
    const again = createServer();
    holders.push(again);
    await new Promise<void>((ok, fail) => (again.once('error', fail), again.listen(mqtt, '127.0.0.1', () => ok())));
  }, 40_000);
});

describe('a clean start', () => {
  it('serve on its defaults (2 workers, LMDB, embedded broker on a free port) logs no warning or error', async () => {
    const node = await serveProcess([
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--workers',
      '2',
      '--data',
      join(tempDir('tf-start-'), 'db'),
    ]);
    try {
      await fetch(`${node.url}/metrics`);
      const loud = node.log().filter((l) => l.startsWith('{') && (JSON.parse(l) as { level: number }).level >= 40);
      expect(loud).toEqual([]);
      // --mqtt-port 0 is a free port, named in the serving line.
      const serving = node.log().find((l) => l.includes('is serving'));
      expect(serving).toMatch(/"mqtt":"mqtt:\/\/127\.0\.0\.1:[1-9]\d*"/);
    } finally {
      node.child.kill('SIGKILL');
    }
  }, 40_000);
});
