import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TwinError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** The dashboard's built files, as served: `index.html`, `app.js`, `app.css`. */
export interface DashboardFiles {
  readonly [name: string]: { readonly type: string; readonly body: Buffer };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/**
 * The package's root folder (the one with twinflow's package.json), from this module's place:
 * `src/node/dashboard` when run from source (tests, tsx), `dist/src/node/dashboard` when built.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'twinflow') return dir;
    const up = dirname(dir);
    if (up === dir) throw new TwinError('TWIN_CONFIG_INVALID', `twinflow's package.json is not above ${dir}`);
    dir = up;
  }
}

/** Where the page's sources are (`web/`) and where its bundle goes (`dist/dashboard/`, git-ignored). */
export function dashboardPaths(root = packageRoot()): { sources: string; out: string } {
  return { sources: join(root, 'web'), out: join(root, 'dist', 'dashboard') };
}

/**
 * Bundles the dashboard with esbuild (a devDependency: `npm install` runs this through the
 * `prepare` script; a package installed without dev tools ships the bundle in dist/).
 * Returns the bundle's sizes in bytes.
 *
 * @example
 * ```ts
 * await buildDashboard(); // { js: 61234, css: 5120 }
 * ```
 */
export async function buildDashboard(paths = dashboardPaths()): Promise<{ js: number; css: number }> {
  const { build } = await import('esbuild');
  mkdirSync(paths.out, { recursive: true });
  await build({
    entryPoints: { app: join(paths.sources, 'main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outdir: paths.out,
    // The page ships no source maps: they would double what a browser downloads.
    sourcemap: false,
    logLevel: 'silent',
    loader: { '.css': 'css' },
  });
  writeFileSync(join(paths.out, 'index.html'), readFileSync(join(paths.sources, 'index.html')));
  return { js: statSync(join(paths.out, 'app.js')).size, css: statSync(join(paths.out, 'app.css')).size };
}

/** True when the bundle is missing, or older than a file of web/ (a checkout that changed the page). */
export function bundleIsStale(paths = dashboardPaths()): boolean {
  const built = join(paths.out, 'app.js');
  if (!existsSync(built) || !existsSync(join(paths.out, 'index.html'))) return true;
  if (!existsSync(paths.sources)) return false; // an installed package: the shipped bundle is the page
  const builtAt = statSync(built).mtimeMs;
  return readdirSync(paths.sources).some((f) => statSync(join(paths.sources, f)).mtimeMs > builtAt);
}

/**
 * The dashboard files, building them first when missing or stale (so `npm start` on a clean
 * clone works even when `prepare` did not run). Null, with the reason logged, when there is
 * no bundle and it cannot be built (no esbuild, no sources).
 */
export async function loadDashboard(logger: Logger, paths = dashboardPaths()): Promise<DashboardFiles | null> {
  if (bundleIsStale(paths)) {
    try {
      const t0 = performance.now();
      const sizes = await buildDashboard(paths);
      logger.info({ ...sizes, ms: Math.round(performance.now() - t0) }, 'built the dashboard bundle');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'the dashboard bundle is missing and could not be built');
      if (!existsSync(join(paths.out, 'app.js'))) return null;
    }
  }
  const files: Record<string, { type: string; body: Buffer }> = {};
  for (const name of readdirSync(paths.out)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type) files[name] = { type, body: readFileSync(join(paths.out, name)) };
  }
  return files;
}
