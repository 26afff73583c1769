/**
 * Issue 15 through the CLI, as operators run it: `twinflow serve --auth <file>` (the finding:
 * the CLI could not configure access at all), SIGHUP re-reads the file, and a non-loopback
 * --host without --auth exits with a clear message (--insecure starts and warns).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, serveProcess, twinflowArgs } from '../support/serve.js';
import { waitFor } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';

const SENSOR = '/org/a/site/s1/building/b1/floor/1/unit/u1/room/4/sensors/climate';

/** Runs `twinflow <args>` to its end. */
function twinflow(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, twinflowArgs(args), {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('twinflow serve --auth (2 workers)', () => {
  it('authenticates with the access file and applies an edited file on SIGHUP', async () => {
    const dir = tempDir();
    // The token and the line for the file come from `twinflow auth token`, as an operator makes them.
    const printed = await twinflow(['auth', 'token', 'app']);
    expect(printed.code).toBe(0);
    const app = {
      token: /shown once\): (\S+)/.exec(printed.stdout)![1]!,
      stored: /"(sha256:[0-9a-f]{64})"/.exec(printed.stdout)![1]!,
    };
    const file = join(dir, 'access.json');
    const rules = (tokens: string[]) =>
      JSON.stringify({ principals: { app: { tokens, grants: [{ paths: ['/org/a/**'], rights: ['read'] }] } } });
    writeFileSync(file, rules([app.stored]));
    const serve = await serveProcess(['--auth', file, '--port', '0', '--workers', '2', '--memory', '--no-mqtt']);
    const get = (token?: string) =>
      fetch(`${serve.url}/twins${SENSOR}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await get()).status).toBe(401);
    expect((await get(app.token)).status).toBe(200);
    expect(
      (await fetch(`${serve.url}/twins/org/b/site/s1`, { headers: { authorization: `Bearer ${app.token}` } })).status,
    ).toBe(403);
    writeFileSync(file, rules([]));
    serve.child.kill('SIGHUP');
    await waitFor(async () => (await get(app.token)).status === 401, 10_000, 'the revoked token to be refused');
    serve.child.kill('SIGTERM');
    expect((await serve.exited).code).toBe(0);
  });

  it('refuses a non-loopback --host without --auth, naming the fix; --insecure starts', async () => {
    const refused = await twinflow([
      'serve',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--memory',
      '--no-mqtt',
      '--workers',
      '0',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /refusing to serve HTTP\/WARP on 0\.0\.0\.0 without access rules.*--auth.*--insecure/,
    );
    const insecure = await serveProcess([
      '--host',
      '0.0.0.0',
      '--insecure',
      '--port',
      '0',
      '--memory',
      '--no-mqtt',
      '--workers',
      '0',
    ]);
    expect(insecure.log().some((l) => l.includes('WITHOUT access rules'))).toBe(true);
    insecure.child.kill('SIGTERM');
    await insecure.exited;
  });
});
