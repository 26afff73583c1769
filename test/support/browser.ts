/**
 * Helpers for real-browser tests: the client bundled by esbuild, a loopback page server
 * that takes the page's reports, and a headless Debian chromium as a child process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterEachTest } from './cleanup.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** True when Debian's chromium is installed (`.ci/run` installs it through scripts/install-system-deps.sh). */
export const hasChromium = spawnSync('sh', ['-c', 'command -v chromium']).status === 0;

/**
 * Bundles `src/client/index.ts` for browsers, in memory. esbuild's browser platform has no
 * Node built-ins and we give it no polyfills, so a `node:` import anywhere in the graph
 * fails the build; `inputs` (relative to the repo) shows what went into the bundle.
 */
export async function bundleClient(): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, 'src/client/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  // esbuild names inputs relative to its working directory; make them relative to the repo.
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(p)));
  return { code: result.outputFiles[0]!.text, inputs };
}

/** What a page POSTed to `/report`: `kind` says what happened, the rest is up to the page. */
export interface Report {
  readonly kind: string;
  readonly run: string;
  readonly [key: string]: unknown;
}

export interface PageServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * The first report of `run` and `kind` (ones already received count). Rejects at once on
   * a report of kind `error` from that run, when `abort` settles first, or after `ms`.
   */
  next(run: string, kind: string, ms: number, abort?: Promise<unknown>): Promise<Report>;
  close(): Promise<void>;
}

/** Serves `/page.html` and `/client.js` on a free loopback port and collects `POST /report`. */
export async function startPageServer(page: string, bundle: string): Promise<PageServer> {
  const reports: Report[] = [];
  const listeners = new Set<() => void>();
  const server = createServer((req, res) => void route(req, res));
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/page.html') return reply(res, 200, 'text/html; charset=utf-8', page);
    // Module scripts need a JavaScript MIME type or the browser refuses them.
    if (req.method === 'GET' && path === '/client.js') return reply(res, 200, 'text/javascript; charset=utf-8', bundle);
    if (req.method === 'POST' && path === '/report') {
      let body = '';
      for await (const chunk of req) body += chunk;
      try {
        reports.push(JSON.parse(body) as Report);
      } catch {
        return reply(res, 400, 'text/plain', 'a report is JSON');
      }
      for (const l of listeners) l();
      return reply(res, 204, 'text/plain', '');
    }
    reply(res, 404, 'text/plain', 'not found');
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    next(run, kind, ms, abort) {
      return new Promise((resolvePromise, reject) => {
        const done = (f: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        const check = (): void => {
          const mine = reports.filter((r) => r.run === run);
          const failed = mine.find((r) => r.kind === 'error');
          const found = mine.find((r) => r.kind === kind);
          if (failed) done(() => reject(new Error(`the page reported an error: ${JSON.stringify(failed)}`)));
          else if (found) done(() => resolvePromise(found));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `no "${kind}" report within ${ms} ms; got ${JSON.stringify(reports.filter((r) => r.run === run))}`,
                ),
              ),
            ),
          ms,
        );
        abort?.then(
          (why) => done(() => reject(new Error(`gave up waiting for "${kind}": ${String(why)}`))),
          (err: unknown) => done(() => reject(err)),
        );
        listeners.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export interface Browser {
  /** Settles with a description if chromium exits before `close()` (a crash or a bad flag). */
  readonly exited: Promise<string>;
  /** The last part of chromium's stderr, for failure messages. */
  stderr(): string;
  close(): Promise<void>;
}

const browsers = new Set<Browser>();
afterEachTest(async () => {
  // Also after a failed or timed-out test: no chromium outlives its test.
  await Promise.all([...browsers].map((b) => b.close()));
});

/**
 * Opens `url` in a headless chromium with a throwaway profile. `--no-sandbox`: tests run as
 * root in CI containers, where the sandbox cannot start. `--disable-dev-shm-usage`: Debian's
 * launcher means to add it when /dev/shm is small (containers), but its shell test breaks
 * when findmnt prints more than one line, as it does here, and then adds nothing. The `--disable-*` networking flags keep the
 * browser off the network: the test only talks to loopback.
 */
export function launchChromium(url: string): Browser {
  const profile = mkdtempSync(join(tmpdir(), 'tf-chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    `--user-data-dir=${profile}`,
    url,
  ];
  // detached: its own process group, so one signal reaches the renderer and helper processes too.
  const proc: ChildProcess = spawn('chromium', args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  // Without its complaints about the missing D-Bus (containers have none), which would bury the rest.
  proc.stderr!.on(
    'data',
    (d: Buffer) => (stderr = (stderr + d.toString().replace(/^.*:ERROR:dbus\/.*\n?/gm, '')).slice(-4000)),
  );
  let closing = false;
  const gone = new Promise<void>((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once('exit', () => r());
  });
  const exited = new Promise<string>((resolveExit) => {
    proc.once('error', (err) => resolveExit(`chromium did not start: ${err.message}`));
    proc.once('exit', (code, signal) => {
      if (!closing) resolveExit(`chromium exited (${code ?? signal}): ${stderr}`);
    });
  });
  let closed: Promise<void> | null = null;
  const browser: Browser = {
    exited,
    stderr: () => stderr,
    close() {
      closed ??= (async () => {
        closing = true;
        browsers.delete(browser);
        if (proc.pid !== undefined) {
          try {
            // The whole group, even if the main process is gone: renderers may outlive it.
            // SIGKILL: the profile is thrown away, so a clean shutdown buys nothing.
            process.kill(-proc.pid, 'SIGKILL');
          } catch {
            // ESRCH: nothing left of the group
          }
          await gone;
        }
        proc.stderr?.destroy();
        rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      })();
      return closed;
    },
  };
  browsers.add(browser);
  return browser;
}
