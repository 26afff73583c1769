import { ThrottledWarning } from '../logger.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { StateStore } from '../store/state-store.js';
import { TwinPath } from '../topology/index.js';
import type { ModelCatalog } from './catalog.js';
import type { Twin } from './twin.js';

/** What {@link JoinRecovery} needs of its shard. */
export interface JoinRecoveryDeps {
  readonly store: StateStore;
  readonly catalog: ModelCatalog;
  /** The twins this shard may start (undefined: all, one shard alone, which has nothing to recover). */
  readonly owns: ((path: string) => boolean) | undefined;
  readonly log: TwinLogger;
  /** The shard's live twins by path. */
  readonly live: ReadonlyMap<string, Twin>;
  /** Runs `fn` on the twin at `path` between turns, starting it from the store if needed. */
  call(path: string, fn: (twin: Twin) => unknown): Promise<unknown>;
  /** Has a live, announced twin send its joined values again (TurnRunner.resendJoins). */
  resend(twin: Twin): void;
  closed(): boolean;
}

/**
 * Sends joins again that a crash may have lost (see {@link childrenOfRemoteParents} for
 * why): after a process crash, every child of a parent under another shard key; after a
 * worker thread's restart, those whose parent the restarted worker owns.
 */
export class JoinRecovery {
  constructor(private readonly deps: JoinRecoveryDeps) {}

  /**
   * After a crash: restores this shard's stored twins whose parent has another shard key, so
   * each announces its joined values again. Queued before any input of this start, so a
   * `settle` waits for them and what they send.
   */
  afterCrash(): void {
    const { store, catalog, owns, live, log } = this.deps;
    if (!owns) return;
    const failed = new ThrottledWarning(log, 'could not restore a twin to resend its joins', 10_000, 'failures');
    let restored = 0;
    for (const path of childrenOfRemoteParents(store, catalog, owns)) {
      if (this.deps.closed()) return;
      if (live.has(path)) continue;
      restored++;
      this.deps.call(path, () => undefined).catch((err: unknown) => failed.note({ path, err }));
    }
    if (restored > 0)
      log.info(
        { twins: restored },
        'after a crash: restored twins whose parents have another shard key, to resend their joins',
      );
  }

  /**
   * Every twin of this shard whose parent has another shard key and is one `parentWanted`
   * accepts sends its joined values again: live ones resend them, stored ones not live are
   * restored, which announces them. Resolves with how many twins were asked, once each ran.
   */
  async resend(parentWanted: (parent: string) => boolean): Promise<number> {
    const { store, catalog, owns, live, log } = this.deps;
    const calls: Promise<unknown>[] = [];
    const failed = new ThrottledWarning(log, 'could not resend the joins of a twin', 10_000, 'failures');
    const ask = (path: string, fn: (twin: Twin) => void): void => {
      calls.push(this.deps.call(path, fn).catch((err: unknown) => failed.note({ path, err })));
    };
    const resend = (twin: Twin): void => this.deps.resend(twin);
    for (const twin of live.values())
      if (twin.parentRemote && twin.upJoins && twin.parent !== null && parentWanted(twin.parent))
        ask(twin.path, resend);
    if (owns)
      for (const path of childrenOfRemoteParents(store, catalog, owns, parentWanted))
        if (!live.has(path)) ask(path, () => undefined); // its start announces it
    await Promise.all(calls);
    return calls.length;
  }
}

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
