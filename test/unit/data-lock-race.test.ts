/**
 * Review R9: the take-over of a stale data-directory lock must let exactly one of several
 * simultaneous starters in. Child processes (a lock belongs to a process, so threads would
 * not do) race, round after round, for directories whose lock names a dead holder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLock, LOCK_FILE } from '../../src/store/data-lock.js';
import { tempDir } from '../support/tmp.js';
import { builtModule } from '../support/serve.js';

const REPO = resolve(import.meta.dirname, '../..');
const CLAIMERS = Number(process.env.CLAIMERS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 60);
const JITTER = Number(process.env.JITTER ?? 2);
const SPACING = Number(process.env.SPACING ?? 60);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * Starts a claimer (compiled once per run: test/support/build.ts): `ready` resolves when it
 * has loaded and waits for its start time, `line` with its results line (both reject if it
 * exits first or takes too long).
 */
function claimer(plan: string): {
  child: ChildProcess;
  ready: Promise<void>;
  line: Promise<{ pid: number; results: string[] }>;
} {
  const child = spawn(process.execPath, [builtModule('test/support/lock-claimer.ts'), plan], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const line = new Promise<{ pid: number; results: string[] }>((resolveLine, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`claimer ${child.pid} timed out: ${err}`)), 60_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const text = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (text === 'ready') {
          resolveReady();
          continue;
        }
        clearTimeout(timer);
        resolveLine(JSON.parse(text));
      }
    });
    child.once('exit', (code) => reject(new Error(`claimer exited (${code}) before answering: ${err}`)));
  });
  return { child, ready: Promise.race([ready, line.then(() => undefined)]), line };
}

describe('the data-directory lock under concurrent take-over (review R9)', () => {
  it.skipIf(!existsSync('/proc/self/stat'))(
    `#R9 ${CLAIMERS} processes taking over a stale lock at the same moment: exactly one wins, ${ROUNDS} rounds`,
    async () => {
      const root = tempDir();
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      // A holder that is gone: this process's pid with another start time (a reused pid).
      const stale =
        JSON.stringify({ pid: process.pid, started: 1, boot, host: 'gone', since: '2020-01-01T00:00:00.000Z' }) + '\n';
      const dirs = Array.from({ length: ROUNDS }, (_, r) => {
        const dir = join(root, `r${r}`);
        mkdirSync(dir);
        writeFileSync(join(dir, LOCK_FILE), stale);
        return dir;
      });
      const plan = join(root, 'plan.json');
      // One round every SPACING ms once every claimer is loaded; each lock step of a claimer
      // pauses up to JITTER ms, so that their steps interleave in every order.
      writeFileSync(plan, JSON.stringify({ dirs, spacingMs: SPACING, jitterMs: JITTER }));
      const claimers = Array.from({ length: CLAIMERS }, () => claimer(plan));
      await Promise.all(claimers.map((c) => c.ready));
      // 200 ms: for the line to reach every claimer (each sleeps, then spins, until t0).
      const t0 = Date.now() + 200;
      for (const c of claimers) c.child.stdin!.write(`${t0}\n`);
      const answers = await Promise.all(claimers.map((c) => c.line));

      const doubles: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const winners = answers.filter((a) => a.results[r] === 'won').map((a) => a.pid);
        const others = answers.filter((a) => a.results[r] !== 'won').map((a) => a.results[r]);
        if (winners.length !== 1) doubles.push(`round ${r}: ${winners.length} winners (${winners.join(', ')})`);
        expect(
          others.every((o) => o === 'TWIN_STORE_LOCKED'),
          `round ${r}: ${others.join(', ')}`,
        ).toBe(true);
        // The lock file names the one winner.
        if (winners.length === 1)
          expect(JSON.parse(readFileSync(join(dirs[r]!, LOCK_FILE), 'utf8')).pid).toBe(winners[0]);
      }
      expect(doubles).toEqual([]);
      for (const c of claimers) c.child.stdin!.end();
    },
    90_000,
  );

  it.skipIf(!existsSync('/proc/self/stat'))(
    '#R9 a take-over guard left by a starter killed mid take-over is taken over in turn; a stack of stale guards is a clear error',
    () => {
      const dir = tempDir();
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const stale = JSON.stringify({ pid: process.pid, started: 1, boot }) + '\n';
      const lock = join(dir, LOCK_FILE);
      writeFileSync(lock, stale);
      writeFileSync(`${lock}.takeover`, stale);
      const taken = DataDirLock.acquire(dir);
      expect(JSON.parse(readFileSync(lock, 'utf8')).started).not.toBe(1);
      expect(existsSync(`${lock}.takeover`)).toBe(false);
      taken.release();
      expect(existsSync(lock)).toBe(false);

      for (const f of [lock, `${lock}.takeover`, `${lock}.takeover.takeover`]) writeFileSync(f, stale);
      expect(() => DataDirLock.acquire(dir)).toThrow(
        expect.objectContaining({
          code: 'TWIN_STORE_LOCKED',
          message: expect.stringContaining(`if no twinflow runs on this directory, remove ${lock}.takeover.takeover`),
        }),
      );
      expect(readFileSync(lock, 'utf8')).toBe(stale); // nothing removed
    },
  );
});
