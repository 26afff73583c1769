import { TwinError } from '../errors.js';
import type { StateStore, StoredTwin } from '../lanes/index.js';

/** Stored twins one warm step scans (a step stays short enough for I/O to interleave). */
export const WARM_CHUNK = 5000;

/**
 * `StateStore.scan` for stores without one: `list` sorted, then a `load` each. Needs a
 * store whose loads are synchronous (a warm chunk runs inside one step).
 */
export function* loadEach(store: StateStore, prefix: string, after: string | undefined): Iterable<[string, StoredTwin]> {
  const paths = [...store.list(prefix)].filter((p) => after === undefined || p > after).sort();
  for (const path of paths) {
    const stored = store.load(path);
    if (stored instanceof Promise) throw new TwinError('TWIN_STORE_FAILED', 'warm needs a store with synchronous loads or scan()');
    if (stored) yield [path, stored];
  }
}
