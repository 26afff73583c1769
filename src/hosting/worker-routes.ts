import type { ModelCatalog } from '../actors/catalog.js';
import { ownerOf } from '../actors/ownership.js';
import { TwinPath } from '../topology/index.js';

/** Paths whose owner is remembered, at most (the cache starts over past it). */
const ROUTE_CACHE_LIMIT = 200_000;

/**
 * Which worker a message goes to: the owner of its twin by {@link ownerOf}, the one
 * placement rule (each worker decides what it may start with the same function, see
 * worker-main.ts). Nothing here computes a shard index of its own. Cached per path:
 * devices send from the same paths over and over.
 *
 * @example
 * ```ts
 * const routes = new WorkerRoutes(catalog, 2);
 * routes.of('/org/o/site/s/building/41/floor/3'); // 0 or 1, as ownerOf says
 * ```
 */
export class WorkerRoutes {
  private readonly routes = new Map<string, number>();

  private readonly ownerOf: (at: TwinPath) => number;

  constructor(
    private readonly catalog: ModelCatalog,
    /** Number of workers: what ownerOf places twins by, here and in each worker. */
    readonly count: number,
    /** Another placement rule the workers apply too (cluster mode: a vshard's worker). */
    placement?: (at: TwinPath) => number,
  ) {
    this.ownerOf = placement ?? ((at) => ownerOf(catalog, at, count));
  }

  /** The worker owning the twin at `path` (a twin path, checked). */
  of(path: string): number {
    let index = this.routes.get(path);
    if (index === undefined) {
      index = this.ownerOf(TwinPath.parse(path));
      if (this.routes.size >= ROUTE_CACHE_LIMIT) this.routes.clear();
      this.routes.set(path, index);
    }
    return index;
  }

  /** Every worker's index. */
  all(): number[] {
    return Array.from({ length: this.count }, (_, i) => i);
  }

  /**
   * The workers holding twins at or under `prefix`: its owner alone when the subtree
   * shares one shard key (a building or below, by default), else every worker.
   */
  subtree(prefix: string): number[] {
    const at = prefix === '' ? undefined : TwinPath.parse(prefix);
    // The subtree shares its shard key, so the owner of the prefix owns all of it.
    return at === undefined || this.catalog.subtreeShardKey(at) === undefined ? this.all() : [this.ownerOf(at)];
  }
}
