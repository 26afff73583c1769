import type { TwinPath } from './path.js';

/** Maps a twin path to the key that decides which shard owns it. */
export type ShardKeyFn = (path: TwinPath) => string;

/**
 * Shard key = the path up to and including the value after the first segment named
 * `name` (`/org/o/site/s/building/41/floor/3` → `/org/o/site/s/building/41` for
 * `'building'`). Paths that do not reach that segment are their own key. Keeping a
 * building's subtree on one shard lets its aggregation run without crossing threads.
 *
 * @example
 * ```ts
 * const key = shardKeyUpTo('building');
 * key(TwinPath.parse('/org/o/site/s/building/41/floor/3')); // '/org/o/site/s/building/41'
 * ```
 */
export function shardKeyUpTo(name: string): ShardKeyFn {
  const marker = '/' + name + '/';
  const key: ShardKeyFn = (path) => {
    const text = path.text;
    const at = text.indexOf(marker);
    if (at < 0) return text;
    const valueStart = at + marker.length;
    const end = text.indexOf('/', valueStart);
    return end < 0 ? text : text.slice(0, end);
  };
  return Object.assign(key, { upTo: name });
}

/**
 * The shard key shared by `path` and every path below it, when `key` can promise one
 * (keys made by {@link shardKeyUpTo}: once a path reaches `/building/<b>`, its whole
 * subtree has that key); otherwise undefined. Lets a subtree-wide request go to one shard.
 */
export function subtreeShardKey(key: ShardKeyFn, path: TwinPath): string | undefined {
  const upTo = (key as { upTo?: string }).upTo;
  if (upTo === undefined) return undefined;
  const own = key(path);
  // A child shares the key exactly when the marker and its value already lie within the
  // path; then no deeper segment can change it.
  return key(path.child('x')) === own ? own : undefined;
}

/** The default shard key: the path up to the building. */
export const defaultShardKey: ShardKeyFn = shardKeyUpTo('building');

/**
 * A stable shard index in [0, count) from a key: 32-bit FNV-1a, the same on every
 * node and thread, so routing never depends on process state.
 */
export function shardIndex(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}
