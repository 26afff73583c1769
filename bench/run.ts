/**
 * `npm run bench [-- <scenario>…] [--quick] [--profile]`: runs the scenarios (all by
 * default), each in its own process, and prints one table. --profile writes a CPU profile per scenario to
 * bench/profiles/<scenario>.cpuprofile (open it in Chrome DevTools → Performance).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { printTable, type BenchContext, type Figure } from './lib/harness.js';

type Scenario = (ctx: BenchContext) => Promise<Figure[]>;

/** Every scenario, in the order the table lists them. Each file exports `run`. */
const scenarios: Record<string, () => Promise<{ run: Scenario }>> = {
  core: () => import('./core.js'),
  shards: () => import('./shards.js'),
  fanout: () => import('./fanout.js'),
  ingest: () => import('./ingest.js'),
  persistence: () => import('./persistence.js'),
  replay: () => import('./replay.js'),
  offload: () => import('./offload.js'),
  auth: () => import('./auth.js'),
  cluster: () => import('./cluster.js'),
  dashboard: () => import('./dashboard.js'),
};

/**
 * Each scenario runs in a fresh Node process when several are asked for: one scenario's
 * heap (51 k twins in core, worker threads in shards) must not tax the next one's GC
 * or CPU. A child writes its figures as JSON to the file named by `--figures-to`.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const profile = args.includes('--profile');
  const figuresTo = args.find((a) => a.startsWith('--figures-to='))?.slice('--figures-to='.length);
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in scenarios));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}\n`);
    process.exit(2);
  }
  const selected = names.length > 0 ? names : Object.keys(scenarios);
  const figures: Figure[] = [];
  if (selected.length > 1) {
    const dir = mkdtempSync(join(tmpdir(), 'twinflow-bench-'));
    try {
      for (const name of selected)
        figures.push(
          ...runInChild(
            name,
            args.filter((a) => a.startsWith('--')),
            join(dir, `${name}.json`),
          ),
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    figures.push(...(await runHere(selected[0]!, { quick, runs: quick ? 3 : 5 }, profile)));
  }
  if (figuresTo) writeFileSync(figuresTo, JSON.stringify(figures));
  else printTable(figures);
}

function runInChild(name: string, flags: string[], out: string): Figure[] {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), name, ...flags, `--figures-to=${out}`],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) {
    process.stderr.write(`${name}: failed (exit ${child.status ?? child.signal}); its figures are missing\n`);
    return [];
  }
  return JSON.parse(readFileSync(out, 'utf8')) as Figure[];
}

async function runHere(name: string, ctx: BenchContext, profile: boolean): Promise<Figure[]> {
  const { run } = await scenarios[name]!();
  const started = Date.now();
  let session: Session | null = null;
  if (profile) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const figures = await run(ctx);
  if (session) {
    const { profile: cpu } = await session.post('Profiler.stop');
    mkdirSync('bench/profiles', { recursive: true });
    writeFileSync(`bench/profiles/${name}.cpuprofile`, JSON.stringify(cpu));
    session.disconnect();
    process.stderr.write(`profile written: bench/profiles/${name}.cpuprofile\n`);
  }
  process.stderr.write(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return figures;
}

await main();
