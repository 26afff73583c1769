/**
 * `npm run bench [-- <scenario>…] [--quick] [--profile]`: runs the scenarios (all by
 * default) and prints one table. --profile writes a CPU profile per scenario to
 * bench/profiles/<scenario>.cpuprofile (open it in Chrome DevTools → Performance).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
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
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const profile = args.includes('--profile');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in scenarios));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}\n`);
    process.exit(2);
  }
  const ctx: BenchContext = { quick, runs: quick ? 3 : 5 };
  const figures: Figure[] = [];
  for (const name of names.length > 0 ? names : Object.keys(scenarios)) {
    const { run } = await scenarios[name]!();
    const started = Date.now();
    let session: Session | null = null;
    if (profile) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    figures.push(...(await run(ctx)));
    if (session) {
      const { profile: cpu } = await session.post('Profiler.stop');
      mkdirSync('bench/profiles', { recursive: true });
      writeFileSync(`bench/profiles/${name}.cpuprofile`, JSON.stringify(cpu));
      session.disconnect();
      process.stderr.write(`profile written: bench/profiles/${name}.cpuprofile\n`);
    }
    process.stderr.write(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  printTable(figures);
}

await main();
