import type { LaneEvent, LaneObserver } from '../lanes/events.js';
import type { HostObserver } from './shard-host.js';
import type { ToWorker } from './worker-protocol.js';

/** One link the main thread holds for a caller: to a twin's lane, or to a filter's lanes. */
interface Link {
  readonly observer: HostObserver;
  readonly lane: string;
  readonly path?: string;
  readonly filter?: string;
  /** The filter's scopes (what the linking principal may read), resent with it on a worker restart. */
  readonly within?: readonly string[];
  /** A wildcard link past its count phase: a worker restarted later links it again without counting. */
  admitted?: boolean;
}

/**
 * The links made through workers, by observer id (oid): lane events a worker forwards
 * reach their observer through it, and a worker that restarts gets its links again
 * ({@link relink}). A link removed here is gone for good: events still in flight for its
 * oid find nothing, and a restart does not bring it back (the last word wins).
 *
 * @example
 * ```ts
 * links.add(oid, { observer, lane: 'latest', path });
 * links.deliver(oid, event, path); // a worker forwarded a change
 * ```
 */
export class WorkerLinks {
  private readonly byOid = new Map<number, Link>();
  private readonly byObserver = new Map<LaneObserver, number>();

  add(oid: number, link: Link): void {
    this.byOid.set(oid, link);
    this.byObserver.set(link.observer, oid);
  }

  has(oid: number): boolean {
    return this.byOid.has(oid);
  }

  /** Marks a wildcard link as past its count phase; false when it was unlinked meanwhile. */
  admit(oid: number): boolean {
    const link = this.byOid.get(oid);
    if (!link) return false;
    link.admitted = true;
    return true;
  }

  /** Removes the link of `observer`; returns its oid and what it linked, if it was linked. */
  remove(observer: LaneObserver): { oid: number; link: Link } | undefined {
    const oid = this.byObserver.get(observer);
    if (oid === undefined) return undefined;
    const link = this.byOid.get(oid)!;
    this.byOid.delete(oid);
    this.byObserver.delete(observer);
    return { oid, link };
  }

  /** Forgets link `oid` of `observer` (its observe failed: nothing was linked). */
  forget(oid: number, observer: LaneObserver): void {
    this.byOid.delete(oid);
    this.byObserver.delete(observer);
  }

  /** A lane event a worker forwarded for link `oid`. */
  deliver(oid: number, event: LaneEvent, path: string): void {
    this.byOid.get(oid)?.observer.onEvent(event, path);
  }

  /** The worker says link `oid` streams (command or supply lane): its observer buffers. */
  useStreamBuffer(oid: number): void {
    this.byOid.get(oid)?.observer.useStreamBuffer?.();
  }

  /**
   * The messages that register the links of restarted worker `index` again: its exact
   * links (by `route`), and every admitted wildcard link, except those in `resent` (their
   * own observe is sent again). Id 0: nobody waits for their answer.
   */
  relink(index: number, route: (path: string) => number, resent: ReadonlySet<number>): ToWorker[] {
    const out: ToWorker[] = [];
    for (const [oid, o] of this.byOid) {
      if (resent.has(oid)) continue;
      if (o.path !== undefined && route(o.path) === index)
        out.push({ t: 'observe', id: 0, oid, path: o.path, lane: o.lane });
      if (o.filter !== undefined && o.admitted)
        out.push({ t: 'observeFilter', id: 0, oid, filter: o.filter, within: o.within, lane: o.lane, limit: Infinity }); // admitted when it was made
    }
    return out;
  }
}
