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
  return (path) => {
    const text = path.text;
    const at = text.indexOf(marker);
    if (at < 0) return text;
    const valueStart = at + marker.length;
    const end = text.indexOf('/', valueStart);
    return end < 0 ? text : text.slice(0, end);
  };
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
