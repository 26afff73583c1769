import type { ModelCatalog } from '../actors/catalog.js';
import { ownerOf } from '../actors/ownership.js';
import { TwinPath } from '../topology/index.js';

/**
 * The vshard of a twin: the placement rule ({@link ownerOf}) over `count` vshards, so a
 * subtree that shares a shard key (a building, by default) is one vshard and its joins
 * stay inside one node. Inside a node, vshard `v` runs on worker `v % workers`.
 *
 * @example
 * ```ts
 * vshardOf(catalog, '/org/o/site/s/building/41/floor/3', 256); // the building's vshard, 0..255
 * ```
 */
export function vshardOf(catalog: ModelCatalog, path: string, count: number): number {
  return ownerOf(catalog, TwinPath.parse(path), count);
}
