import { TwinError } from '../errors.js';
import type { StateStore, StoredTwin } from '../store/state-store.js';
import { normalisePath } from '../topology/index.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { Twin } from './twin.js';
import type { TwinDirectory } from './twin-directory.js';
import type { WarmChunk } from './work.js';

/** Stored twins one warm step scans (a step stays short enough for I/O to interleave). */
export const WARM_CHUNK = 5000;

/**
 * `StateStore.scan` for stores without one: `list` sorted, then a `load` each, except of
 * the paths `skip` names (live twins: warm would not start them, and the in-memory store
 * would build their held records for nothing, or make their reads wait for the step's end).
 * Needs a store whose loads are synchronous (a warm chunk runs inside one step).
 */
export function* loadEach(
  store: StateStore,
  prefix: string,
  after: string | undefined,
  skip?: (path: string) => boolean,
): Iterable<[string, StoredTwin]> {
  const paths = [...store.list(prefix)].filter((p) => after === undefined || p > after).sort();
  for (const path of paths) {
    if (skip?.(path)) continue;
    const stored = store.load(path);
    if (stored instanceof Promise)
      throw new TwinError('TWIN_STORE_FAILED', 'warm needs a store with synchronous loads or scan()');
    if (stored) yield [path, stored];
  }
}

/** What a warm step needs from its shard. */
export interface WarmTarget {
  readonly store: StateStore;
  readonly directory: TwinDirectory;
  readonly log: TwinLogger;
  /** Starts a new twin from its stored state (restore, onStart, announce); returns the twin that started. */
  start(twin: Twin, stored: StoredTwin): Twin;
}

/**
 * One warm step: starts up to {@link WARM_CHUNK} stored twins at or under `prefix`, after
 * `after`, in path order. Twins that are live, still committing their final writes, owned
 * by another shard (unless `owned`: the whole subtree is this shard's) or of no model are
 * skipped; a stored key that is no valid path is logged and skipped.
 */
export function warmStep(target: WarmTarget, prefix: string, after: string | undefined, owned: boolean): WarmChunk {
  const { store, directory } = target;
  const chunk: WarmChunk = { started: 0, last: undefined, done: true };
  let scanned = 0;
  for (const [path, stored] of store.scan
    ? store.scan(prefix, after)
    : loadEach(store, prefix, after, (path) => directory.live.has(path))) {
    chunk.last = path;
    const twin = startable(target, path, owned);
    if (twin) {
      directory.live.set(path, twin);
      target.start(twin, stored);
      chunk.started++;
    }
    if (++scanned >= WARM_CHUNK) {
      chunk.done = false;
      break;
    }
  }
  return chunk;
}

/**
 * A new twin for a stored path this warm may start, or null: live, still stopping, owned
 * elsewhere, of no model any more, or (logged) a key that is no valid path. The ownership
 * check parses the path too (with workers), so it sits inside the same guard.
 */
function startable(target: WarmTarget, path: string, owned: boolean): Twin | null {
  try {
    return target.directory.canWarm(path, owned) ? target.directory.create(normalisePath(path), false) : null;
  } catch (err) {
    target.log.warn({ path, err }, 'stored state under an invalid path skipped while warming');
    return null;
  }
}
