import type { LaneEvent, LaneObserver } from '../lanes/events.js';
import { atOrUnder, TwinPath, type PathFilter } from '../topology/index.js';

interface FilterLink {
  readonly filter: PathFilter;
  /** The filter's literal prefix as text ('' when it starts with a wildcard): a cheap first test. */
  readonly prefix: string;
  readonly lane: string;
  readonly observer: LaneObserver;
}

/** Filter changes kept for twins to catch up with (see ObserverRegistry.changes); further behind, they match again. */
const MAX_CHANGES = 64;

/** Per-twin cache of the filter links that match it, valid for one registry generation. */
export interface FilterMatches {
  generation: number;
  byLane: Map<string, LaneObserver[]> | null;
}

/**
 * Who observes which lane of which twin on this shard: API links, WebSocket uplinks,
 * and wildcard links (`/…/room/* /sensors/climate` without the space). Kept by path, not
 * on the twin, so a link outlives the twin's passivation. One event object is built per
 * change and shared by every observer of the lane.
 */
export class ObserverRegistry {
  private readonly byPath = new Map<string, Map<string, Set<LaneObserver>>>();
  private readonly filters: FilterLink[] = [];
  /** Bumped whenever the filter set changes: a twin's cached matches are of one generation. */
  generation = 0;
  /**
   * The latest filter changes, oldest first, the one at index i made generation
   * `generation - changes.length + 1 + i`: a twin whose cache is a few generations old
   * applies them to it rather than matching its path against every filter again (with a
   * thousand wildcard links and one opened every few steps, that match ran once per
   * event and cost most of it).
   */
  private readonly changes: { added: boolean; link: FilterLink }[] = [];
  /** Exact-path observers plus filter links; lets the hot path skip all of this when zero. */
  size = 0;
  /** Observers that threw (they are dropped). */
  failures = 0;
  /** Told when a wildcard observer that threw was dropped (its shard releases what it held). */
  onFilterDropped: ((observer: LaneObserver) => void) | null = null;

  get filterCount(): number {
    return this.filters.length;
  }

  forPath(path: string): Map<string, Set<LaneObserver>> | undefined {
    return this.byPath.get(path);
  }

  add(path: string, lane: string, observer: LaneObserver): void {
    let lanes = this.byPath.get(path);
    if (!lanes) this.byPath.set(path, (lanes = new Map()));
    let set = lanes.get(lane);
    if (!set) lanes.set(lane, (set = new Set()));
    if (!set.has(observer)) {
      set.add(observer);
      this.size++;
    }
  }

  remove(path: string, lane: string, observer: LaneObserver): boolean {
    const lanes = this.byPath.get(path);
    const set = lanes?.get(lane);
    if (!set?.delete(observer)) return false;
    this.size--;
    if (set.size === 0) lanes!.delete(lane);
    if (lanes!.size === 0) this.byPath.delete(path);
    return true;
  }

  addFilter(filter: PathFilter, lane: string, observer: LaneObserver): void {
    const link = { filter, prefix: filter.literalPrefix?.text ?? '', lane, observer };
    this.filters.push(link);
    this.size++;
    this.changed(true, link);
  }

  hasFilter(observer: LaneObserver): boolean {
    return this.filters.some((f) => f.observer === observer);
  }

  removeFilter(observer: LaneObserver): boolean {
    const i = this.filters.findIndex((f) => f.observer === observer);
    if (i < 0) return false;
    const [link] = this.filters.splice(i, 1);
    this.size--;
    this.changed(false, link!);
    return true;
  }

  private changed(added: boolean, link: FilterLink): void {
    this.generation++;
    if (this.changes.length === MAX_CHANGES) this.changes.shift();
    this.changes.push({ added, link });
  }

  /**
   * The filter links matching a twin's path (canonical text), recomputed only when the
   * filter set changed. A filter whose literal prefix the path is not under is passed over
   * on the text; the path is parsed only for the others.
   */
  filterMatches(path: string, cache: FilterMatches | null): FilterMatches {
    if (cache && cache.generation === this.generation) return cache;
    const behind = cache ? this.generation - cache.generation : Infinity;
    if (behind <= this.changes.length) return this.catchUp(cache!, behind, path);
    let byLane: Map<string, LaneObserver[]> | null = null;
    let p: TwinPath | undefined;
    if (this.filters.length > 0) {
      for (const f of this.filters) {
        if (!atOrUnder(path, f.prefix) || !f.filter.matches((p ??= TwinPath.parse(path)))) continue;
        byLane ??= new Map();
        const list = byLane.get(f.lane) ?? [];
        list.push(f.observer);
        byLane.set(f.lane, list);
      }
    }
    return { generation: this.generation, byLane };
  }

  /**
   * A cache `behind` generations old, brought up to date with the changes since: what a
   * full match would give, in the same order (a new filter is the last of the list, and a
   * removal keeps the others' order).
   */
  private catchUp(cache: FilterMatches, behind: number, path: string): FilterMatches {
    let p: TwinPath | undefined;
    for (let i = this.changes.length - behind; i < this.changes.length; i++) {
      const { added, link } = this.changes[i]!;
      if (added) {
        if (!atOrUnder(path, link.prefix) || !link.filter.matches((p ??= TwinPath.parse(path)))) continue;
        cache.byLane ??= new Map();
        const list = cache.byLane.get(link.lane);
        if (list) list.push(link.observer);
        else cache.byLane.set(link.lane, [link.observer]);
      } else {
        const list = cache.byLane?.get(link.lane);
        const at = list ? list.indexOf(link.observer) : -1;
        if (at < 0) continue;
        list!.splice(at, 1);
        if (list!.length === 0) cache.byLane!.delete(link.lane);
        if (cache.byLane!.size === 0) cache.byLane = null;
      }
    }
    cache.generation = this.generation;
    return cache;
  }

  deliver(observers: Iterable<LaneObserver>, event: LaneEvent, path: string): void {
    for (const o of observers) {
      try {
        o.onEvent(event, path);
      } catch {
        // An observer must never break a twin's commit; a throwing one is unlinked.
        this.failures++;
        if (observers instanceof Set) {
          observers.delete(o);
          this.size--;
        } else if (this.removeFilter(o)) {
          this.onFilterDropped?.(o);
        }
      }
    }
  }
}
