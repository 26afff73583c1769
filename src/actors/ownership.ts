import { shardIndex, TwinPath } from '../topology/index.js';
import type { ModelCatalog } from './catalog.js';

/**
 * THE placement rule: the index of the shard (worker) that owns a twin, from 0 to
 * `count` - 1. The main thread routes every message with it and each worker decides
 * what it may start with it, so there is exactly one live copy of a twin: both sides
 * must agree to the bit, which is why there is one function and no second copy of it.
 * FNV-1a of the twin's shard key (its model's, else the runtime's), so a building's
 * subtree lands on one shard by default.
 *
 * @example
 * ```ts
 * ownerOf(catalog, TwinPath.parse('/org/o/site/s/building/41/floor/3'), 2); // 0 or 1, the same on every thread
 * ```
 */
export function ownerOf(catalog: ModelCatalog, path: TwinPath, count: number): number {
  return shardIndex(catalog.shardKey(path, catalog.resolve(path)?.model), count);
}

/**
 * The `owns` predicate of shard `index` of `count` (see ShardOptions.owns): true for the
 * paths {@link ownerOf} places on it.
 */
export function ownedBy(catalog: ModelCatalog, index: number, count: number): (path: string) => boolean {
  return (path) => ownerOf(catalog, TwinPath.parse(path), count) === index;
}
