import type { Uplink } from './uplink.js';

/**
 * The links of one socket that have something to send, by WARP `prio` (higher first) and
 * round robin within a priority. When the send budget cuts a flush short, what did not
 * fit is the lower-priority output, which keeps conflating in its links meanwhile. With
 * every link at the default priority this is one bucket: a plain round robin.
 *
 * @example
 * ```ts
 * const ready = new ReadyLinks();
 * ready.add(uplink);
 * const parts: Buffer[] = []; ready.take(parts, 16_384);
 * ```
 */
export class ReadyLinks {
  private readonly buckets = new Map<number, Set<Uplink>>();
  /** Priorities present, highest first. */
  private order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(up: Uplink): void {
    // Woken again before its flush (every event of a busy link does): nothing to do.
    if (up.inReady) return;
    let bucket = this.buckets.get(up.prio);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(up.prio, bucket);
      this.order = [...this.buckets.keys()].sort((a, b) => b - a);
    }
    bucket.add(up);
    up.inReady = true;
    this.count++;
  }

  delete(up: Uplink): void {
    if (!up.inReady) return;
    this.buckets.get(up.prio)!.delete(up);
    up.inReady = false;
    this.count--;
  }

  clear(): void {
    for (const b of this.buckets.values()) {
      for (const up of b) up.inReady = false;
      b.clear();
    }
    this.count = 0;
  }

  *values(): IterableIterator<Uplink> {
    for (const p of this.order) yield* this.buckets.get(p)!;
  }

  /**
   * Moves ready envelopes into `out`, highest priority first, until about `limit` bytes;
   * returns the bytes taken. A link that still has output goes to the back of its bucket.
   */
  take(out: Buffer[], limit: number): number {
    let bytes = 0;
    for (let i = 0; i < this.order.length; i++) {
      const bucket = this.buckets.get(this.order[i]!)!;
      for (const up of bucket) {
        if (bytes >= limit) return bytes;
        bytes += up.take(out, limit - bytes);
        bucket.delete(up);
        if (up.idle) {
          up.inReady = false;
          this.count--;
        } else {
          bucket.add(up); // round robin: to the back of the line
        }
      }
    }
    return bytes;
  }
}
