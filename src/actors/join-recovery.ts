import type { StateStore } from '../store/state-store.js';
import { TwinPath } from '../topology/index.js';
import type { ModelCatalog } from './catalog.js';

/**
 * The stored twins of this shard whose parent has another shard key and joins one of their
 * lanes: after a crash, the children to restore so that their parents get their values again.
 *
 * With several shards, a child's join update to a parent under another shard key travels
 * as a message, also when the same shard owns both (TwinDirectory.create), and so commits
 * apart from the child: a process killed in between leaves the parent behind its child (or
 * ahead of it: worker threads send joins as the turn ends, before its commit), and nothing
 * sends the value again until the child starts for another reason. A restored child
 * announces its values (see TurnRunner.announce); a parent that holds them already runs no
 * turn. Under one shard key, child and parent commit together: nothing to do. In the
 * building model that is the buildings and the sites (the shard key is the path up to the
 * building).
 *
 * The same holds when only a worker thread died (see Shard.resendJoins): what it had not
 * committed of the joins other workers sent it is gone, so the children of its parents send
 * theirs again.
 *
 * Reads every record key once (keys only, no values), after a crash only.
 *
 * @example
 * ```ts
 * for (const path of childrenOfRemoteParents(store, catalog, (p) => owns(p))) wake(path);
 * ```
 */
export function* childrenOfRemoteParents(
  store: StateStore,
  catalog: ModelCatalog,
  owns: (path: string) => boolean,
  /** Only children whose parent this accepts (a restarted worker's parents); default all. */
  parentWanted?: (parent: string) => boolean,
): Iterable<string> {
  for (const stored of store.list('')) {
    let at: TwinPath;
    try {
      at = TwinPath.parse(stored);
    } catch {
      continue; // not a path this build accepts: it cannot start here either
    }
    const model = catalog.modelOf(at);
    if (!model || !owns(at.text)) continue;
    const parent = catalog.parentOf(at);
    if (!parent || !catalog.upJoins(model, parent.model)) continue;
    // Joins to a parent under another shard key travel as messages (TwinDirectory.create),
    // also when this shard owns the parent: they commit apart from the child.
    if (catalog.shardKey(at, model) === catalog.shardKey(parent.at, parent.model)) continue;
    if (parentWanted && !parentWanted(parent.at.text)) continue;
    yield at.text;
  }
}
