/**
 * Global setup (vitest.config.ts): compiles src/, models/, examples/ and test/support/ to
 * JavaScript once per run, for the tests that start `twinflow` as a child process.
 *
 * Why: a child started with `node --import tsx src/cli/main.ts` resolves and loads every
 * module through tsx's loader hooks, on its main thread and again on each shard worker
 * (workers register tsx themselves). Measured on the 2-core test machine, a
 * `serve --workers 2` spent ~5 s of CPU to answer its first read from source and ~2.5 s
 * from compiled JavaScript; the crash test alone starts 24 of them. The compiled tree runs
 * the same `main` the way `bin/twinflow.js` runs dist/ for users (`.ts` model files given
 * with --models still load through tsx, as they do for users).
 *
 * The tree is named by a hash of its sources, under .test-build/ (git-ignored), and is
 * written to a temporary name and renamed into place: a run never reads a tree another
 * run is writing, and an unchanged checkout reuses the last tree. The tree sits inside the
 * repository so that its imports find node_modules/ and `packageRoot()` finds package.json
 * (the dashboard's sources in web/), exactly as from dist/.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const REPO = resolve(import.meta.dirname, '../..');
const SOURCES = ['src', 'models', 'examples', 'test/support'];
const OUT = join(REPO, '.test-build');
/** Trees kept besides the current one (others' checkouts may be at other commits). */
const KEEP = 3;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The compiled tree: `<it>/src/cli/main.js` is the `twinflow` command. */
    twinflowBuild: string;
  }
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Builds (or reuses) the compiled tree and returns its folder. */
export async function buildTree(): Promise<string> {
  const files = SOURCES.flatMap((d) => tsFiles(join(REPO, d)));
  const hash = createHash('sha256');
  for (const f of files) hash.update(relative(REPO, f)).update('\0').update(readFileSync(f)).update('\0');
  const dir = join(OUT, hash.digest('hex').slice(0, 16));
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  const { build } = await import('esbuild');
  // Transpile only, one output per file (no bundling): the same module graph as dist/.
  await build({
    entryPoints: files,
    outdir: tmp,
    outbase: REPO,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(REPO, 'tsconfig.json'),
    logLevel: 'silent',
  });
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another run renamed the same tree into place first: theirs is identical.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  prune(dir);
  return dir;
}

/** Removes all but the newest `KEEP` other trees (and temporaries older than an hour). */
function prune(current: string): void {
  mkdirSync(OUT, { recursive: true });
  const trees = readdirSync(OUT)
    .map((name) => join(OUT, name))
    .filter((p) => p !== current)
    .map((p) => ({ p, mtime: statSync(p).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const hour = Date.now() - 3_600_000;
  trees.forEach(({ p, mtime }, i) => {
    if (p.includes('.tmp-') ? mtime < hour : i >= KEEP) rmSync(p, { recursive: true, force: true });
  });
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('twinflowBuild', await buildTree());
}
