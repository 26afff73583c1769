/**
 * A child process that races for data-directory locks (test/unit/data-lock-race.test.ts).
 * argv: a JSON file `{ dirs: string[], spacingMs: number, jitterMs: number }`. Once loaded
 * it prints `ready` and reads one line from stdin: t0, a wall-clock time (so the parent
 * picks the start when every claimer is ready, not after a guessed start-up time). Round r
 * starts at t0 + r * spacingMs, when every claimer calls DataDirLock.acquire(dirs[r]) at
 * once. It prints one JSON line `{ pid, results }` (`won`, or the error code per round)
 * and then stays alive, holding every lock it won, until its stdin closes.
 *
 * With `jitterMs`, every file-system call the lock makes first sleeps a random 0..jitterMs
 * ms: the claimers then interleave their steps the way a loaded machine's scheduler may,
 * which is what a race needs (unpaused, the windows are a few microseconds wide). The real
 * fs functions are wrapped before the lock module is loaded; its code is unchanged.
 */
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const { dirs, spacingMs, jitterMs } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  dirs: string[];
  spacingMs: number;
  jitterMs: number;
};
const pause = new Int32Array(new SharedArrayBuffer(4));
if (jitterMs > 0) {
  for (const name of ['linkSync', 'renameSync', 'statSync', 'readFileSync', 'unlinkSync', 'writeFileSync'] as const) {
    const real = fs[name] as (...args: unknown[]) => unknown;
    (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      // Only the lock's own files: /proc reads stay quick.
      if (String(args[0]).includes('twinflow.lock')) Atomics.wait(pause, 0, 0, Math.random() * jitterMs);
      return real.apply(fs, args);
    };
  }
  syncBuiltinESMExports();
}
const { DataDirLock } = await import('../../src/store/data-lock.js');
process.stdout.write('ready\n');
const t0 = await new Promise<number>((resolve) => {
  let line = '';
  process.stdin.setEncoding('utf8');
  const onData = (d: string): void => {
    line += d;
    if (!line.includes('\n')) return;
    process.stdin.off('data', onData);
    process.stdin.pause();
    resolve(Number(line.slice(0, line.indexOf('\n'))));
  };
  process.stdin.on('data', onData);
});
const held: ReturnType<typeof DataDirLock.acquire>[] = [];
const results: string[] = [];
for (let r = 0; r < dirs.length; r++) {
  const at = t0 + r * spacingMs;
  // Sleep to just before the start, then spin, so that the claimers start within microseconds.
  const sleepMs = at - Date.now() - 2;
  if (sleepMs > 0) Atomics.wait(pause, 0, 0, sleepMs);
  for (let spins = 0; Date.now() < at && spins < 1e8; spins++);
  try {
    held.push(DataDirLock.acquire(dirs[r]!));
    results.push('won');
  } catch (err) {
    results.push((err as { code?: string }).code ?? String(err));
  }
}
process.stdout.write(JSON.stringify({ pid: process.pid, results }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
