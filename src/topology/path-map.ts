import { atOrUnder } from './path.js';

/**
 * Segments of a path that name the bucket it is indexed under: `/org/o/site/s/building/b/floor/f`
 * in the building model, a floor's few hundred twins. A bucket holds every live path that
 * starts with the same first segments (a shorter path is a bucket of its own).
 */
const BUCKET_SEGMENTS = 8;

/**
 * A `Map` keyed by canonical twin paths (read as one on the hot path), with the paths also
 * kept in buckets of their first {@link BUCKET_SEGMENTS} segments, so the keys under a prefix
 * are found without visiting every key. A wildcard link's open asks that of a shard's live
 * twins (TwinDirectory.candidatePaths) and of the memory store's paths (`list`): with 256 k
 * live twins each open took 25-100 ms of its shard's time visiting all of them. The buckets
 * cost a set entry per key (about 45 B), so they are built on the first such question and
 * kept from then on: a node nobody opens a wildcard link on never pays for them.
 */
export class PathMap<V> extends Map<string, V> {
  private buckets: Map<string, Set<string>> | null = null;

  override set(path: string, value: V): this {
    if (this.buckets !== null && !super.has(path)) index(this.buckets, path);
    return super.set(path, value);
  }

  override delete(path: string): boolean {
    if (!super.delete(path)) return false;
    const buckets = this.buckets;
    if (buckets === null) return true;
    const key = bucketOf(path);
    const bucket = buckets.get(key);
    if (bucket !== undefined && bucket.delete(path) && bucket.size === 0) buckets.delete(key);
    return true;
  }

  override clear(): void {
    super.clear();
    this.buckets?.clear();
  }

  /** The keys at and under `prefix` (a canonical path, or '' for all), bucket by bucket. */
  *pathsUnder(prefix: string): Generator<string> {
    if (prefix === '') {
      yield* this.keys();
      return;
    }
    let buckets = this.buckets;
    if (buckets === null) {
      buckets = this.buckets = new Map();
      for (const path of this.keys()) index(buckets, path);
    }
    const key = bucketOf(prefix);
    if (key !== prefix || segmentCount(prefix) === BUCKET_SEGMENTS) {
      // The prefix is as deep as a bucket or deeper: every path under it is in its bucket.
      const bucket = buckets.get(key);
      if (bucket !== undefined) for (const path of bucket) if (atOrUnder(path, prefix)) yield path;
      return;
    }
    // Shallower: the paths under it are the buckets under it, whole.
    for (const [bucketKey, bucket] of buckets) if (atOrUnder(bucketKey, prefix)) yield* bucket;
  }
}

function index(buckets: Map<string, Set<string>>, path: string): void {
  const key = bucketOf(path);
  let bucket = buckets.get(key);
  if (bucket === undefined) buckets.set(key, (bucket = new Set()));
  bucket.add(path);
}

/** The first {@link BUCKET_SEGMENTS} segments of a canonical path (the path itself when it has no more). */
function bucketOf(path: string): string {
  let at = 0;
  for (let n = 0; n < BUCKET_SEGMENTS; n++) {
    at = path.indexOf('/', at + 1);
    if (at < 0) return path;
  }
  return path.slice(0, at);
}

function segmentCount(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}
