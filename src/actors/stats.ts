/**
 * A log-linear latency histogram (nanoseconds): 8 sub-buckets per power of two, so
 * quantiles are within ~9 % with a fixed 512-slot array and no allocation per record.
 */
export class Histogram {
  readonly counts = new Float64Array(64 * 8);
  count = 0;
  sum = 0;
  max = 0;

  record(ns: number): void {
    const v = Math.max(1, ns);
    const exp = Math.floor(Math.log2(v));
    const sub = Math.min(7, Math.floor((v / 2 ** exp - 1) * 8));
    this.counts[Math.min(this.counts.length - 1, exp * 8 + sub)]!++;
    this.count++;
    this.sum += ns;
    if (ns > this.max) this.max = ns;
  }

  /** Upper bound (ns) of the bucket holding quantile q in [0, 1]. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    const rank = q * this.count;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, 2 ** Math.floor(i / 8) * (1 + ((i % 8) + 1) / 8));
    }
    return this.max;
  }
}

/** What became of input taken from a durable input log (see ShardStats.inputLog). */
export interface InputLogCounts {
  /** Acknowledged input never applied, for good: malformed, for no twin here, or refused by its model. */
  refused: number;
  /** Input that failed for a passing reason (a commit failed, the node was fenced) and is taken again. */
  retried: number;
  /** Consumers of the log made again (a JetStream leader change, a stalled consumer, an error). */
  consumerRestarts: number;
  /** Restarts of a vshard from its state log under the same lease (to take input again). */
  resets: number;
}

/** Counters of one shard; the runtime's metrics endpoint reads and sums them. */
export class ShardStats {
  events = 0;
  duplicates = 0;
  commands = 0;
  turns = 0;
  turnFailures = 0;
  started = 0;
  stopped = 0;
  writes = 0;
  outputs = 0;
  /** Turns refused because they set lane state the store cannot take (assertStorable), and twins a failed encode reset. */
  unstorable = 0;
  /** Stored records that did not decode and were quarantined (see LmdbStateStore.load). */
  corruptRecords = 0;
  /** Starts refused because another shard owns the twin (a placement bug if ever non-zero). */
  startsRefused = 0;
  /**
   * Input this shard takes from a durable input log rather than from callers (cluster mode:
   * a vshard's input stream, which a front acknowledged with 202 before any twin saw it).
   * Zeros otherwise. See {@link InputLogCounts}.
   */
  readonly inputLog: InputLogCounts = { refused: 0, retried: 0, consumerRestarts: 0, resets: 0 };
  /** Sampled turn durations (ns), one turn in 16. */
  readonly turnLatency = new Histogram();
}
