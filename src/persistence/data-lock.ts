import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
  ) {}

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
      // Bounded: each round either wins, finds a live holder, or removes one stale file.
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          linkSync(temp, file);
          owned.set(file, { refs: 1 });
          return new DataDirLock(file, true);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const seen = inspect(file);
        if (seen === undefined) continue; // removed meanwhile: try again
        if (seen.holder && sameProcess(seen.holder, self)) return new DataDirLock(file, false);
        if (seen.holder && alive(seen.holder)) {
          const h = seen.holder;
          throw new TwinError('TWIN_STORE_LOCKED',
            `data directory ${dir} is in use by another process (pid ${h.pid}${h.since ? `, since ${h.since}` : ''}); stop it, or start this node with another --data directory`,
            { dir, pid: h.pid });
        }
        removeStale(file, seen.ino);
      }
      throw new TwinError('TWIN_STORE_LOCKED', `data directory ${dir}: could not take ${LOCK_FILE} (other processes keep starting on it)`, { dir });
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
    pid: process.pid, ...(started !== undefined ? { started } : {}), ...(boot ? { boot } : {}),
    host: hostname(), since: new Date().toISOString(),
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

/**
 * Moves a stale lock file aside and deletes it. Two starters may judge the same file stale
 * at once; the rename lets only one of them move it, and the inode check catches the case
 * where the other already replaced it with its own live lock: that one is put back.
 */
function removeStale(file: string, ino: number): void {
  const aside = `${file}.${process.pid}.${threadId}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (statSync(aside).ino !== ino) {
    try {
      linkSync(aside, file);
    } catch {
      // a third starter got in: it holds the lock now
    }
  }
  unlinkSync(aside);
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
