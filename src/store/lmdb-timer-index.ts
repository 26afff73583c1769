import type { Database } from 'lmdb';
import { BUCKET_MS, bucketKey, SEP } from './lmdb-keys.js';
import type { Commits } from './lmdb-commits.js';

/** No indexed bucket (a twin without due timers). */
const NONE = '';
/** Paths whose indexed bucket is remembered, at most (the cache starts over past it, see {@link LmdbTimerIndex.trim}). */
const INDEX_CACHE_LIMIT = 200_000;

/**
 * Which stored twins have timers due in which minute: `timers` (`bucket ␟ path` → path,
 * the bucket of the twin's earliest due timer) and `timer-of` (path → its indexed
 * bucket), kept in step with each record's `$timers` as records are written. After a
 * restart the runtime asks {@link dueTwins} which twins to activate so their timers come
 * due without waiting for traffic.
 *
 * @example
 * ```ts
 * index.update('/room/1', { $timers: { vacant: 1_700_000_060_000 } }, true, commits); // queued in the write's transaction
 * index.dueTwins(1_700_000_100_000); // ['/room/1'] once committed
 * ```
 */
export class LmdbTimerIndex {
  /** Timer bucket last indexed per path written by this process (see {@link update}). */
  private readonly indexed = new Map<string, string>();

  constructor(
    private readonly timers: Database<string, string>,
    private readonly timerOf: Database<string, string>,
  ) {}

  /**
   * Builds the index from every record, in one synchronous transaction the caller opens:
   * for data directories written before the index existed.
   */
  static build(
    timers: Database<string, string>,
    timerOf: Database<string, string>,
    records: Iterable<{ key: unknown; value: Record<string, unknown> }>,
  ): void {
    for (const { key, value } of records) {
      if (typeof key !== 'string') continue;
      const bucket = earliestBucket(value);
      if (bucket === NONE) continue;
      timers.putSync(bucket + SEP + key, key);
      timerOf.putSync(key, bucket);
    }
  }

  /**
   * Queues the index writes for a record being written (in the same transaction): a put and
   * a delete only when the earliest timer moves to another minute. The bucket last written
   * for a path is remembered here, because a read would not see a write still in flight.
   */
  update(path: string, values: Readonly<Record<string, unknown>>, created: boolean, commits: Commits): void {
    const next = earliestBucket(values);
    let previous = this.indexed.get(path);
    if (previous === undefined) previous = created ? NONE : (this.timerOf.get(path) ?? NONE);
    if (previous === next) return;
    this.indexed.set(path, next);
    if (previous !== NONE) commits.add(this.timers.remove(previous + SEP + path));
    if (next === NONE) {
      commits.add(this.timerOf.remove(path));
    } else {
      commits.add(this.timers.put(next + SEP + path, path));
      commits.add(this.timerOf.put(path, next));
    }
  }

  /** Drops a path's index entries now, inside the caller's synchronous transaction (its record was moved aside). */
  dropSync(path: string): void {
    const bucket = this.timerOf.get(path);
    if (bucket !== undefined) this.timers.removeSync(bucket + SEP + path);
    this.timerOf.removeSync(path);
    this.indexed.delete(path);
  }

  /** Forgets the remembered buckets when there are many; only when no write is in flight (then reads see every write). */
  trim(): void {
    if (this.indexed.size >= INDEX_CACHE_LIMIT) this.indexed.clear();
  }

  /** See {@link LmdbStateStore.dueTwins}. */
  dueTwins(until: number, limit = Infinity): string[] {
    const out: string[] = [];
    for (const { value } of this.timers.getRange({ end: bucketKey(until) + SEP + '\uffff' })) {
      if (out.length >= limit) break;
      out.push(value);
    }
    return out;
  }

  /** The earliest indexed timer bucket at or after `after` (epoch ms of its start), if any. */
  nextDue(after: number): number | undefined {
    for (const key of this.timers.getKeys({ start: bucketKey(after), limit: 1 })) {
      return Number(String(key).slice(0, 11)) * BUCKET_MS;
    }
    return undefined;
  }
}

/** The bucket of a record's earliest due timer (its `$timers` field), or NONE. */
function earliestBucket(values: Readonly<Record<string, unknown>>): string {
  const due = values.$timers as Record<string, number> | undefined;
  let min = Infinity;
  if (due) for (const name in due) if (due[name]! < min) min = due[name]!;
  return min === Infinity ? NONE : bucketKey(min);
}
