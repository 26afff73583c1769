export {
  TwinPath,
  parsePath,
  normalisePath,
  atOrUnder,
  MAX_PATH_BYTES,
  MAX_PATH_SEGMENTS,
  MAX_SEGMENT_LENGTH,
} from './path.js';
export { RoutePattern, type RouteParams } from './route.js';
export { PathFilter } from './filter.js';
export { shardKeyUpTo, defaultShardKey, shardIndex, subtreeShardKey, type ShardKeyFn } from './shard-key.js';
