import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { TwinError } from '../errors.js';

/** The lock file in a data directory (next to LMDB's data.mdb and lock.mdb). */
export const LOCK_FILE = 'twinflow.lock';

/** Who holds a data directory: enough to tell a live holder from a dead one whose pid was reused. */
interface Holder {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22; Linux only). */
  started?: number;
  /** Kernel boot id (Linux): a lock written before the last reboot is stale whatever its pid. */
  boot?: string;
  host?: string;
  since?: string;
}

/**
 * A stale lock is removed only by the starter holding `twinflow.lock.takeover` (taken the
 * same way as the lock); if that one's holder died mid take-over, it is taken over under
 * `twinflow.lock.takeover.takeover`. Past this many guard levels a start gives up.
 */
const TAKEOVER = '.takeover';
const MAX_GUARDS = 2;
/** Rounds of one claim: each either wins, finds a live holder, removes a stale file, or waits for another starter's take-over. */
const ATTEMPTS = 64;
/** How long to wait for another starter's take-over before looking again (it takes a few file operations). */
const PAUSE_MS = 2;

/** Lock files this thread created, by path, with how many opens share them. */
const owned = new Map<string, { refs: number }>();

/**
 * Makes a data directory belong to one process (issue 13.7: two nodes on one directory
 * both ran, and the last writer won on disk). LMDB itself is built for many processes
 * sharing an environment, so its lock.mdb does not stop a second node.
 *
 * The lock is a file naming its holder (pid, process start time, boot id), created with
 * `link(2)`, which fails if the file exists, so it appears whole or not at all. It belongs
 * to the process, not to an open: the main thread takes it before the shard workers start,
 * and their opens of the same environment find their own process named and go ahead.
 * Node has no flock(2), so a holder killed with SIGKILL leaves the file behind; the next
 * start finds the holder gone (`kill(pid, 0)` fails, or the pid now belongs to a process
 * that started at another time, or the machine rebooted since) and takes the lock over.
 *
 * Take-over is where several starters race (review R9: one moved another's fresh, live lock
 * aside to check it, and a third linked its own in that window: two nodes ran). So a live
 * lock file is never moved or removed by anyone but its holder, and a stale one is removed
 * only under a guard file (see {@link claim}): then exactly one `link(2)` can succeed.
 *
 * Limits (docs/persistence.md): processes in different pid namespaces (two containers
 * sharing a volume) cannot see each other's pids, and LMDB does not support network file
 * systems, so the lock guards one machine (or one container).
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly file: string,
    /** Whether this open created the file (and removes it when the last of its thread's opens closes). */
    private readonly owner: boolean,
    /**
     * The lock was taken over from a holder that died holding it: the last process on this
     * directory did not shut down cleanly (SIGKILL, a crash, a power loss).
     */
    readonly afterCrash = false,
    private readonly fresh = false,
  ) {}

  /**
   * This open took the lock for the process: nothing of the process has the environment open
   * yet. Other opens of the process (the same thread again, its shard workers) share a lock
   * an earlier open took, and may find the environment open and being written.
   */
  get first(): boolean {
    return this.owner && this.fresh;
  }

  /** Takes the lock of `dir` (which must exist), or throws TWIN_STORE_LOCKED naming the holder. */
  static acquire(dir: string): DataDirLock {
    const file = join(dir, LOCK_FILE);
    const mine = owned.get(file);
    if (mine) {
      mine.refs++;
      return new DataDirLock(file, true);
    }
    const self = currentHolder();
    // Per thread: the shard workers of one process open the directory at the same moment.
    const temp = `${file}.${process.pid}.${threadId}.tmp`;
    writeFileSync(temp, JSON.stringify(self) + '\n', { mode: 0o644 });
    try {
      const took = { stale: false };
      const got = claim(file, temp, statSync(temp).ino, self, 0, took);
      switch (got.kind) {
        case 'won':
          owned.set(file, { refs: 1 });
          return new DataDirLock(file, true, took.stale, true);
        case 'mine':
          return new DataDirLock(file, false);
        case 'held': {
          const h = got.holder;
          throw new TwinError(
            'TWIN_STORE_LOCKED',
            `data directory ${dir} is in use by another process (pid ${h.pid}${h.since ? `, since ${h.since}` : ''}); stop it, or start this node with another --data directory`,
            { dir, pid: h.pid },
          );
        }
        case 'stuck':
          throw new TwinError(
            'TWIN_STORE_LOCKED',
            `data directory ${dir}: ${LOCK_FILE} is stale, but so are its take-over guards (starters were killed while taking it over); if no twinflow runs on this directory, remove ${got.file}`,
            { dir, file: got.file },
          );
        case 'busy':
          throw new TwinError(
            'TWIN_STORE_LOCKED',
            `data directory ${dir}: could not take ${LOCK_FILE} (other processes keep starting on it)`,
            { dir },
          );
      }
    } finally {
      unlinkQuietly(temp);
    }
  }

  /** Gives the lock up; the file goes when the last open of this thread that shares it closes. */
  release(): void {
    if (this.released || !this.owner) return;
    this.released = true;
    const mine = owned.get(this.file);
    if (!mine || --mine.refs > 0) return;
    owned.delete(this.file);
    try {
      // Only remove a file that still names this process (never one a successor wrote).
      const seen = inspect(this.file);
      if (seen?.holder && sameProcess(seen.holder, currentHolder())) unlinkQuietly(this.file);
    } catch {
      // Unreadable now: leave it; the next start finds its holder gone and takes it over.
    }
  }
}

function currentHolder(): Holder {
  const started = startTicks(process.pid);
  const boot = bootId();
  return {
    pid: process.pid,
    ...(started !== undefined ? { started } : {}),
    ...(boot ? { boot } : {}),
    host: hostname(),
    since: new Date().toISOString(),
  };
}

/** The lock file's holder (undefined when the file is unreadable garbage) and inode, or undefined if there is no file. */
function inspect(file: string): { holder: Holder | undefined; ino: number } | undefined {
  let text: string;
  let ino: number;
  try {
    ino = statSync(file).ino;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Holder;
    return { holder: Number.isSafeInteger(h.pid) && h.pid > 0 ? h : undefined, ino };
  } catch {
    return { holder: undefined, ino }; // not ours to understand (a truncated copy, an editor's save): stale
  }
}

function sameProcess(a: Holder, b: Holder): boolean {
  return a.pid === b.pid && a.started === b.started && a.boot === b.boot;
}

/** Whether the holder still runs: same boot, its pid exists, and (where /proc tells) it started when the lock says. */
function alive(h: Holder): boolean {
  const boot = bootId();
  if (h.boot && boot && h.boot !== boot) return false;
  // Our own pid, but not us (sameProcess said so): the process that wrote it is gone.
  if (h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user (so it is alive).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.started === undefined) return true;
  const now = startTicks(h.pid);
  return now === undefined || now === h.started;
}

type Claim =
  | { kind: 'won' }
  | { kind: 'mine' }
  | { kind: 'held'; holder: Holder }
  | { kind: 'stuck'; file: string }
  | { kind: 'busy' };

/**
 * Makes `path` a hard link of `temp` (inode `ino`, naming `self`), or says who holds it.
 *
 * The rule that makes take-over safe: only a lock's holder removes a live lock file, and a
 * stale one is removed only by the starter holding the guard `path.takeover`, which first
 * looks again. While the guard is held nobody else can remove or replace the stale file
 * (it exists, so no link succeeds; its holder is dead, so it is not released), so the file
 * the guard holder unlinks is the stale one it judged, never a successor's live lock. Then
 * every starter links again and `link(2)` lets exactly one in. Starters that find the
 * guard held wait for that take-over and look again. A guard whose holder died is itself
 * taken over the same way, one level up (at most {@link MAX_GUARDS}).
 */
function claim(
  path: string,
  temp: string,
  ino: number,
  self: Holder,
  depth: number,
  took: { stale: boolean } = { stale: false },
): Claim {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (tryLink(temp, path)) {
      // Nobody moves a live lock file, so it is ours; look once more, as the one check that
      // would catch a starter breaking that rule (an older twinflow, a person).
      if (inodeOf(path) === ino) return { kind: 'won' };
      continue;
    }
    const seen = inspect(path);
    if (seen === undefined) continue; // released or removed meanwhile: link again
    if (seen.holder && sameProcess(seen.holder, self)) return { kind: 'mine' };
    if (seen.holder && alive(seen.holder)) return { kind: 'held', holder: seen.holder };
    if (depth >= MAX_GUARDS) return { kind: 'stuck', file: path };
    const guard = path + TAKEOVER;
    const taking = claim(guard, temp, ino, self, depth + 1);
    if (taking.kind === 'stuck' || taking.kind === 'busy') return taking;
    if (taking.kind !== 'won') {
      pause(PAUSE_MS); // another starter is taking it over: let it finish, then look again
      continue;
    }
    try {
      const again = inspect(path);
      if (
        again &&
        again.ino === seen.ino &&
        !(again.holder && (sameProcess(again.holder, self) || alive(again.holder)))
      ) {
        unlinkQuietly(path);
        took.stale = true;
      }
    } finally {
      unlinkQuietly(guard); // ours: nobody else removes a live guard
    }
  }
  return { kind: 'busy' };
}

/** `link(2)`: true if `path` was created, false if it exists. */
function tryLink(temp: string, path: string): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous wait (the lock is taken while a store opens, synchronously). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Start time of a process in clock ticks since boot, from /proc (undefined where there is no /proc). */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command name) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

let boot: string | null | undefined;
function bootId(): string | undefined {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot ?? undefined;
}
