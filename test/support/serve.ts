/** `twinflow serve` as a child process, the way users run it: for crash, soak and CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { afterEachTest } from './cleanup.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** The command's entry in the sources, for `node --import tsx MAIN …`. */
export const MAIN = resolve(REPO, 'src/cli/main.ts');

/**
 * Node arguments that run `twinflow <args>`: the same `main` compiled to JavaScript once
 * per test run by test/support/build.ts (a start from source through tsx costs twice
 * the CPU, on each worker thread too). Run it with `cwd: REPO`.
 */
export function twinflowArgs(args: readonly string[]): string[] {
  return [join(inject('twinflowBuild'), 'src/cli/main.js'), ...args];
}

/**
 * Node arguments for `twinflow <args>` as the test means it: compiled (`twinflowArgs`), but
 * from source through tsx when `--models` names a TypeScript file. Such a set imports src/
 * through tsx: the compiled command would load src/ a second time (its own copy), on every
 * worker thread too, where from source both are one copy, as before the compiled command.
 */
export function commandFor(args: readonly string[]): string[] {
  const ts = args.some((a, i) => /\.[cm]?ts(#|$)/.test(a) && (args[i - 1] === '--models' || a.startsWith('--models=')));
  return ts ? ['--import', 'tsx', MAIN, ...args] : twinflowArgs(args);
}

/** The compiled copy of a test/support module (by its path from the repository root). */
export function builtModule(path: string): string {
  return join(inject('twinflowBuild'), path.replace(/\.ts$/, '.js'));
}
const SERVING = 'twinflow is serving';

const children: ChildProcess[] = [];
afterEachTest(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves when the process exited, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The last 500 lines of stdout (the JSON log), for diagnostics. */
  log(): string[];
}

/**
 * Starts `twinflow serve` (compiled: see `twinflowArgs`) with `args` and waits for its "serving" log line
 * (which carries the URL); rejects with its stderr if it exits first or takes 30 s.
 * The stdout pipe is drained for the life of the process (a full pipe would block its log).
 */
export async function serveProcess(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, commandFor(['serve', ...args]), {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: string[] = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buf = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`no "${SERVING}" line within 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (lines.length > 500) lines.shift();
        if (found || !line.includes(SERVING)) continue;
        found = true;
        clearTimeout(timer);
        resolveUrl((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`twinflow exited (${code ?? signal}) before serving: ${stderr}`));
    });
  });
  return { child, url, exited, stderr: () => stderr, log: () => lines };
}

/** Resident set size of a process in bytes (Linux /proc), or NaN when it is gone. */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) * 1024;
}
