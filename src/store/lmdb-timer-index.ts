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
  /**
   * Minute bucket last indexed per path written by this process (see {@link update}), as a
   * number ({@link NO_BUCKET}: none): the key strings are built only when a bucket moves.
   */
  private readonly indexed = new Map<string, number>();

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
    const next = earliestMinute(values);
    let previous = this.indexed.get(path);
    if (previous === undefined) previous = created ? NO_BUCKET : storedMinute(this.timerOf.get(path));
    // Remembered also when unchanged: most writes leave the bucket as it was, and a read per
    // write (a twin without timers, or one whose timer stays in its minute) cost ~3 % of a
    // persisted run's main thread.
    this.indexed.set(path, next);
    if (previous === next) return;
    if (previous !== NO_BUCKET) commits.add(this.timers.remove(minuteKey(previous) + SEP + path));
    if (next === NO_BUCKET) {
      commits.add(this.timerOf.remove(path));
    } else {
      const bucket = minuteKey(next);
      commits.add(this.timers.put(bucket + SEP + path, path));
      commits.add(this.timerOf.put(path, bucket));
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
  const minute = earliestMinute(values);
  return minute === NO_BUCKET ? NONE : minuteKey(minute);
}

/** No due timer (see {@link earliestMinute}). */
const NO_BUCKET = -1;

/** The minute (ms / BUCKET_MS) of a record's earliest due timer, or NO_BUCKET. */
function earliestMinute(values: Readonly<Record<string, unknown>>): number {
  const due = values.$timers as Record<string, number> | undefined;
  let min = Infinity;
  if (due) for (const name in due) if (due[name]! < min) min = due[name]!;
  return min === Infinity ? NO_BUCKET : Math.max(0, Math.floor(min / BUCKET_MS));
}

/** The `timers` key part of a minute: what {@link bucketKey} makes of a time in it. */
function minuteKey(minute: number): string {
  return bucketKey(minute * BUCKET_MS);
}

/** The minute a `timer-of` value names (NO_BUCKET when absent). */
function storedMinute(bucket: string | undefined): number {
  return bucket === undefined || bucket === NONE ? NO_BUCKET : Number(bucket);
}
