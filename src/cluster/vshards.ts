import type { ModelCatalog } from '../actors/catalog.js';
import { ownerOf } from '../actors/ownership.js';
import { TwinError } from '../errors.js';
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

/**
 * The vshard whose input stream carries input for the twin at `path`, or TWIN_PATH_INVALID /
 * TWIN_NO_ROUTE for a path no model of `catalog` routes. One rule for both ends of the
 * stream: a front publishes an event to this vshard (ClusterShardHost), and a vshard's
 * consumer takes only input this rule gives it (InputConsumer): anything else (another
 * writer's bytes, a node with another `--cluster-vshards` or model set) could never apply
 * there, and is refused for good rather than offered to the shard.
 */
export function inputVshardOf(catalog: ModelCatalog, path: string, count: number): number {
  const at = TwinPath.parse(path);
  if (catalog.resolve(at) === null) throw new TwinError('TWIN_NO_ROUTE', `no model is routed to ${path}`, { path });
  return ownerOf(catalog, at, count);
}
