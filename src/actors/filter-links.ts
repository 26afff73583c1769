import { TwinError } from '../errors.js';
import type { LaneObserver } from '../lanes/events.js';
import type { StoredTwin } from '../store/state-store.js';
import { TwinPath, type PathFilter } from '../topology/index.js';
import type { ObserverRegistry } from './observers.js';
import type { Twin } from './twin.js';
import type { TwinDirectory } from './twin-directory.js';

/** What wildcard links need from their shard. */
export interface FilterLinkTarget {
  readonly directory: TwinDirectory;
  readonly observers: ObserverRegistry;
  /** A twin's stored state, as the shard loads it (a damaged record is quarantined, counted and skipped). */
  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined>;
  /** Starts the twin at `path` through the shard's inbox; settles once it ran (errors ignored). */
  start(path: string): Promise<void>;
  /** Stops the twin at `path` through the shard's inbox, if it is live then and no exact link watches it. */
  stop(path: string): void;
}

/** The error of a wildcard link or subtree listing that matches more than `limit` twins. */
export function tooManyTwins(filter: PathFilter, limit: number): TwinError {
  return new TwinError(
    'TWIN_TOO_MANY_TWINS',
    `${filter.text} matches more than ${limit} twins (the limit of one wildcard link or listing, --max-link-twins); narrow the filter`,
    { filter: filter.text, limit },
  );
}

/**
 * The wildcard links of one shard. A link counts the twins it matches among those this
 * shard owns (live or stored) before it does anything, and fails past its limit; then it
 * registers, and sends it the state of each matching twin:
 *
 * - a live twin that announced sends its lane's state now; one still loading (or not
 *   yet announced) sends it when it announces, as it does to every matching link;
 * - a stored twin is NOT started: its record is read (after its last stop committed)
 *   and the lane's state sent from it. It starts when traffic comes, and being a
 *   matching twin that starts, it meets the link then. So a link over 50 000 stored
 *   sensors keeps none of them live, and no second copy of any can arise;
 * - a stored twin whose lane has no stored state (transient, demand) is started, held
 *   for the link, and stopped once no link that started it is open; stream lanes
 *   (command, supply) have no state to send, so nothing is started for them.
 */
export class FilterLinks {
  /** Twins started to answer a link, by link. */
  private readonly started = new Map<LaneObserver, Set<string>>();
  /** How many open links hold each twin that was started for them. */
  private readonly holds = new Map<string, number>();

  constructor(private readonly target: FilterLinkTarget) {}

  /** Links `observer` to `lane` of the owned twins `filter` matches; rejects TWIN_TOO_MANY_TWINS past `limit`. */
  async link(filter: PathFilter, lane: string, observer: LaneObserver, limit: number): Promise<void> {
    const { directory, observers } = this.target;
    const paths = directory.candidatePaths(filter, limit);
    if (paths.length > limit) throw tooManyTwins(filter, limit);
    observers.addFilter(filter, lane, observer);
    const waits: Promise<void>[] = [];
    for (const path of paths) {
      const live = directory.get(path);
      if (live) {
        if (live.state === 'active' && live.announced) syncLane(live, lane, observer);
        continue;
      }
      let stored: StoredTwin | undefined | Promise<StoredTwin | undefined>;
      try {
        stored = this.target.load(path); // waits for a twin's final writes when it just stopped
      } catch {
        continue; // unreadable, not only damaged: it is left out of this link's sync
      }
      if (stored instanceof Promise) {
        // Later: only if still linked (the registry lookup is paid only on this rare path).
        waits.push(
          stored.then(
            (s) => (observers.hasFilter(observer) ? this.fromStore(path, lane, observer, s) : undefined),
            () => undefined,
          ),
        );
      } else {
        const wait = this.fromStore(path, lane, observer, stored);
        if (wait) waits.push(wait);
      }
    }
    await Promise.all(waits);
  }

  /** Unlinks `observer`; the twins started only for it stop (through the inbox, after they started). */
  unlink(observer: LaneObserver): void {
    this.target.observers.removeFilter(observer);
    const paths = this.started.get(observer);
    if (!paths) return;
    this.started.delete(observer);
    for (const path of paths) {
      const n = (this.holds.get(path) ?? 1) - 1;
      if (n > 0) {
        this.holds.set(path, n);
        continue;
      }
      this.holds.delete(path);
      this.target.stop(path); // unless an exact link watches it (see Shard.release)
    }
  }

  private fromStore(
    path: string,
    lane: string,
    observer: LaneObserver,
    stored: StoredTwin | undefined,
  ): Promise<void> | undefined {
    const { directory } = this.target;
    // Gone, or started meanwhile (its announce sent the state).
    if (!stored || directory.get(path)) return undefined;
    let twin: Twin | null;
    try {
      twin = directory.peek(TwinPath.parse(path), stored);
    } catch {
      return undefined; // a record its model cannot restore: the twin reports it when it starts
    }
    const l = twin?.lane(lane);
    if (!l) return undefined;
    if (l.persistent) {
      syncLane(twin!, lane, observer);
      return undefined;
    }
    if (l.kind === 'command' || l.kind === 'supply') return undefined;
    let mine = this.started.get(observer);
    if (!mine) this.started.set(observer, (mine = new Set()));
    if (!mine.has(path)) {
      mine.add(path);
      this.holds.set(path, (this.holds.get(path) ?? 0) + 1);
    }
    return this.target.start(path);
  }
}

function syncLane(twin: Twin, lane: string, observer: LaneObserver): void {
  const l = twin.lane(lane);
  if (l) for (const e of l.syncEvents()) observer.onEvent(e, twin.path);
}
