/**
 * The `twinflow` commands as README.md and docs/replay.md show them, run the way a user
 * runs them: as child processes (the same `main` bin/twinflow.js runs from dist/, compiled
 * once per test run by test/support/build.ts), or in-process through `main` where only the
 * exit code and stderr matter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { main } from '../../src/cli/cli.js';
import { parseServeConfig } from '../../src/node/config/serve-config.js';
import { freePort, waitFor } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';
import { twinflowArgs } from '../support/serve.js';

const REPO = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  vi.restoreAllMocks();
});

/** `twinflow <args>` as a child process; stdout is a pipe the test may read or close. */
function twinflow(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, twinflowArgs(args), {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stderr: () => stderr, exit };
}

/** `twinflow <args>` as a child process to its end: exit code and stderr. */
async function finished(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  const run = twinflow(args, env);
  const code = await run.exit;
  return { code, stderr: run.stderr() };
}

/** Runs `main` in this process and returns its exit code and what it wrote to stderr. */
async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stderr };
}

describe('twinflow CLI', () => {
  it('records with worker threads (the default of `serve` options) and stops on SIGINT', async () => {
    const dir = tempDir();
    const file = join(dir, 'live.tfr');
    const port = await freePort();
    // `--out=FILE` as well as `--port PORT`: every command takes both forms (record used to look for `--out` by hand).
    const rec = twinflow([
      'record',
      `--out=${file}`,
      '--port',
      String(port),
      '--no-mqtt',
      '--memory',
      '--workers',
      '1',
      '--log-level',
      'warn',
    ]);
    await waitFor(
      async () => {
        if (rec.child.exitCode !== null)
          throw new Error(`twinflow record exited ${rec.child.exitCode}: ${rec.stderr()}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok;
      },
      30_000,
      'twinflow record to be ready',
    );
    const res = await fetch(`http://127.0.0.1:${port}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        subject: '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/fire',
        data: { alarm: true },
      }),
    });
    expect(res.status).toBe(202);
    rec.child.kill('SIGINT');
    expect(await rec.exit).toBe(0);
    const reader = await RecordingReader.open(file);
    const events = [];
    for await (const e of reader.events()) events.push(e);
    await reader.close();
    expect(events.map((e) => e.subject)).toEqual([
      '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/fire',
    ]);
  }, 60_000);

  it('ends `export` quietly when the reader of its output goes away (| head)', async () => {
    const dir = tempDir();
    const file = join(dir, 'fleet.tfr');
    expect(
      (
        await inProcess([
          'generate',
          '--seed',
          '1',
          '--sites',
          '1',
          '--buildings',
          '1',
          '--floors',
          '1',
          '--units',
          '2',
          '--rooms',
          '2',
          '--events',
          '20000',
          '--out',
          file,
        ])
      ).code,
    ).toBe(0);
    const exp = twinflow(['export', file]);
    exp.child.stdout!.once('data', () => exp.child.stdout!.destroy());
    expect(await exp.exit).toBe(0);
    expect(exp.stderr()).not.toMatch(/EPIPE|at /);
  }, 60_000);

  it('reports a user error in one line with exit code 1 or 2, never a stack trace', async () => {
    const dir = tempDir();
    const csv = join(dir, 'bad.csv');
    await import('node:fs').then((fs) => fs.writeFileSync(csv, 'a,b\n1,2\n'));
    const missing = await inProcess(['replay', join(dir, 'missing.tfr')]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^twinflow replay: ENOENT.*missing\.tfr/) });
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    expect(await inProcess(['import', csv, '--out', join(dir, 'x.tfr')])).toEqual({
      code: 1,
      stderr: 'twinflow import: CSV has no column "Date" (columns: a, b)\n',
    });
    // Bad flag values are usage errors, like unknown flags.
    expect(await inProcess(['replay', join(dir, 'x.tfr'), '--speed', 'abc'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow replay: --speed must be a number/),
    });
    expect(await inProcess(['import', csv, '--out', join(dir, 'x.tfr'), '--fan-out', 'abc'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow import: --fan-out/),
    });
    expect(await inProcess(['whatif', join(dir, 'x.tfr'), '--limit', 'x'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow whatif: --limit/),
    });
  });

  it('answers a negative or missing flag value, and whatif without --param, with a one-line usage error', async () => {
    const dir = tempDir();
    const file = join(dir, 'x.tfr');
    const [tick, out, whatif, record] = await Promise.all([
      finished(['replay', file, '--tick', '-5']),
      finished(['export', file, '--out', '-o']),
      finished(['whatif', file]),
      finished(['record', '--port', '0']),
    ]);
    expect(tick).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow replay: --tick must be a number >= 0, got -5\n\ntwinflow replay </),
    });
    expect(out).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^twinflow export: --out needs a value; to give one that starts with "-", write --out=<value>\n/,
      ),
    });
    expect(whatif).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow whatif: --param <name>=<value> is required/),
    });
    expect(record).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow record: --out <file.tfr> is required/),
    });
  }, 60_000);

  it('reads an empty TWINFLOW_* variable as unset and refuses one it cannot read (exit 2)', async () => {
    const port = await freePort();
    const blank = {
      TWINFLOW_WORKERS: '',
      TWINFLOW_DURABILITY: '',
      TWINFLOW_MQTT_URL: '',
      TWINFLOW_MQTT_PORT: '',
      TWINFLOW_LOG_LEVEL: '',
      TWINFLOW_JOURNAL: '',
      TWINFLOW_DATA: '',
    };
    const serve = twinflow(['serve', '--port', String(port), '--no-mqtt', '--memory'], blank);
    await waitFor(
      async () => {
        if (serve.child.exitCode !== null)
          throw new Error(`twinflow serve exited ${serve.child.exitCode}: ${serve.stderr()}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok;
      },
      30_000,
      'twinflow serve to be ready',
    );
    serve.child.kill('SIGINT');
    expect(await serve.exit).toBe(0);
    // Blank is the default (the core count of workers), not 0.
    expect(parseServeConfig([], { ...blank, TWINFLOW_PORT: '' })).toMatchObject({
      port: 9001,
      logLevel: 'info',
      storage: { workers: availableParallelism(), durability: 'strict', journal: false, dataDir: './data' },
      ingestion: { mqtt: { port: 1883 } },
    });

    const [workers, port2, journal] = await Promise.all([
      finished(['serve', '--memory'], { TWINFLOW_WORKERS: 'many' }),
      finished(['serve', '--memory'], { TWINFLOW_PORT: 'http' }),
      finished(['serve', '--memory'], { TWINFLOW_JOURNAL: 'yes' }),
    ]);
    expect(workers).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow serve: TWINFLOW_WORKERS must be a non-negative integer, got many\n/),
    });
    expect(port2).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow serve: TWINFLOW_PORT must be an integer from 0 to 65535, got http\n/),
    });
    expect(journal).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^twinflow serve: TWINFLOW_JOURNAL must be 1 or 0/),
    });
  }, 60_000);

  it('answers a --models it cannot use in one line with exit code 2, and says when a set has no fleet or explainer', async () => {
    const sets = './test/support/model-sets.ts';
    const cases: [string[], RegExp][] = [
      [['serve', '--models', './nope.js'], /^twinflow serve: --models \.\/nope\.js: no such file .*nope\.js\n$/],
      [
        ['record', '--out', 'x.tfr', '--models', `${sets}#nope`],
        /^twinflow record: --models .*#nope: .*model-sets\.ts has no export "nope" \(exports: .*\)\n$/,
      ],
      [
        ['replay', 'x.tfr', '--models', `${sets}#notASet`],
        /^twinflow replay: --models .*#notASet: .*#notASet is an object, not a model set \(make one with defineModelSet\)\n$/,
      ],
      [
        ['whatif', 'x.tfr', '--models', './examples/parking-garage', '--param', 'reserve=1'],
        /^twinflow whatif: --param reserve=1: expected <name>=<value> with name one of staleAfter, reserved\n$/,
      ],
      [
        ['generate', '--models', `${sets}#counterSet`, '--seed', '1', '--out', 'x.tfr'],
        /^twinflow generate: model set counters has no fleet generator \(`fleet` in defineModelSet\); record live traffic with twinflow record, or import a CSV\n$/,
      ],
      [
        ['generate', '--models', './examples/parking-garage', '--seed', '1', '--out', 'x.tfr', '--sites', '2'],
        /^twinflow generate: Unknown option '--sites'/,
      ],
    ];
    for (const [args, stderr] of cases)
      expect(await inProcess(args), args.join(' ')).toMatchObject({ code: 2, stderr: expect.stringMatching(stderr) });

    // A set without an explainer: what-if lists the changes and says why there are no reasons.
    const dir = tempDir();
    const file = join(dir, 'counters.tfr');
    const writer = RecordingWriter.create(file, { created: 0 });
    for (let i = 0; i < 5; i++)
      writer.append({
        id: String(i),
        source: 't',
        type: 'reading',
        subject: `/zone/a/meter/${i % 2}`,
        time: 1000 * (i + 1),
        data: null,
      });
    await writer.close();
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    expect(await main(['whatif', file, '--models', `${sets}#counterSet`, '--param', 'loud=true'])).toBe(0);
    vi.restoreAllMocks();
    expect(stdout).toMatch(/^what-if loud=true over 5 events \(model set counters\)\n/);
    expect(stdout).toContain('derived events: 0 in both, 5 in one run only');
    expect(stdout).toContain('(model set counters has no explainer: changes are listed without reasons)');
  });

  it('shows the serve options for `twinflow serve --help`', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    expect(await main(['serve', '--help'])).toBe(0);
    expect(stdout).toMatch(/^twinflow serve \[options\]/);
    expect(stdout).toContain('--mqtt-port');
    expect(stdout).toContain('--models <module>[#export]');
  });
});
