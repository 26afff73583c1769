import type { Principal } from '../../access/principal.js';

/** A sustained rate and the burst a sender may send at once (as in the access file's `principals.<name>.rate`). */
export interface IngestRate {
  readonly eventsPerSecond: number;
  readonly burst: number;
}

/** The fronts whose input the quota counts, as labels of `twinflow_rate_limited_total`. */
export type QuotaFront = 'http' | 'mqtt' | 'warp';

export interface IngestQuotaOptions {
  /** The rate of every key whose principal has none of its own (undefined: off; `--ingest-rate`, `--ingest-burst`). */
  rate?: IngestRate;
  /** Most keys (senders) tracked at once (default {@link DEFAULT_MAX_RATE_KEYS}). */
  maxKeys?: number;
  /** Monotonic milliseconds (tests pass a simulated clock's `now`). */
  now?: () => number;
}

/** Keys tracked at once by default: about 100 bytes each, so at most ~10 MB however many senders come and go. */
export const DEFAULT_MAX_RATE_KEYS = 100_000;
/** Full buckets are swept out at most this often while keys are added (and whenever the map is at its cap). */
const SWEEP_EVERY_MS = 60_000;
/** A sweep at the cap is repeated at most this often: past the cap, new senders share {@link OVERFLOW}. */
const SWEEP_AT_CAP_MS = 1_000;
/** The key every sender past the cap shares until full buckets can be swept out. */
const OVERFLOW = '\0overflow';
/** Rounding slack of the refill arithmetic: a sender that waited the time it was told is admitted. */
const EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  at: number;
  eventsPerSecond: number;
  burst: number;
}

/**
 * The rate key of a sender: its principal's name when access rules are on (and it proved
 * one: anonymous callers are told apart by connection), else its MQTT client id, else its
 * remote address. Every front calls this, so a principal has one bucket however many
 * fronts and connections it uses.
 *
 * @example
 * ```ts
 * rateKeyOf({ principal: req.principal, remoteAddress: req.ip }); // 'p:app-a', or 'a:127.0.0.1' on an open node
 * ```
 */
export function rateKeyOf(who: { principal?: Principal | null; clientId?: string; remoteAddress?: string }): string {
  const p = who.principal;
  // 'open' is every caller of a node without rules; 'anonymous' every caller without credentials.
  if (p && p.source !== 'open' && p.source !== 'anonymous') return `p:${p.name}`;
  if (who.clientId !== undefined && who.clientId !== '') return `c:${who.clientId}`;
  return `a:${who.remoteAddress ?? '?'}`;
}

/**
 * Ingest rate per sender: one token bucket per rate key ({@link rateKeyOf}). A bucket holds
 * up to `burst` tokens and refills at `eventsPerSecond`. A message of N events takes N
 * tokens whenever the balance is positive (at least one whole token), going into debt if
 * need be (so a batch larger than the burst is not refused forever; the debt is paid by
 * waiting); otherwise it is refused whole and the sender learns how long to wait.
 *
 * The rate of a key is its principal's own (`principals.<name>.rate` in the access file)
 * or the node's default; without either there is no limit and nothing is kept. A changed
 * rate (the access file reloaded) applies on the sender's next message: the tokens it used
 * stay used, the new burst and refill apply from then.
 *
 * Memory is bounded: a bucket that has refilled is the same as no bucket, so full ones are
 * dropped, and at most `maxKeys` are kept; past that, new senders share one bucket until
 * idle ones can be dropped (a flood of made-up client ids cannot grow the map).
 *
 * (`RateGate` in src/streams paces one link's output by a timer; this bounds input by a
 * balance, with no timer at all, so they share nothing but the word "rate".)
 *
 * @example
 * ```ts
 * const quota = new IngestQuota({ rate: { eventsPerSecond: 100, burst: 200 } });
 * const wait = quota.take(rateKeyOf({ clientId }), 1, principal.rate);
 * if (wait > 0) refuse(`retry in ${wait} ms`);
 * ```
 */
export class IngestQuota {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limitedBy = new Map<QuotaFront, number>([
    ['http', 0],
    ['mqtt', 0],
    ['warp', 0],
  ]);
  private readonly defaultRate: IngestRate | undefined;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: IngestQuotaOptions = {}) {
    this.defaultRate = options.rate;
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_RATE_KEYS);
    this.now = options.now ?? (() => performance.now());
    this.lastSweep = this.now();
  }

  /** The rate a sender is held to: its principal's own, else the node's default (undefined: unlimited). */
  rateOf(own: IngestRate | undefined): IngestRate | undefined {
    return own ?? this.defaultRate;
  }

  /**
   * Takes `n` tokens from `key`'s bucket. Returns 0 when admitted, else the milliseconds
   * until a whole token is back (the message is refused whole; nothing was taken).
   */
  take(key: string, n: number, own?: IngestRate): number {
    const rate = own ?? this.defaultRate;
    if (rate === undefined) return 0;
    const now = this.now();
    const b = this.bucket(key, rate, now);
    // "Positive" counts whole tokens: with a balance refilled continuously, "> 0" would let one
    // event more than the burst through a moment after every refusal.
    if (b.tokens >= 1 - EPSILON) {
      b.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / b.eventsPerSecond));
  }

  /** Counts `n` events a front refused or held back for their sender's rate (`twinflow_rate_limited_total`). */
  limited(front: QuotaFront, n = 1): void {
    this.limitedBy.set(front, this.limitedBy.get(front)! + n);
  }

  /** Events refused or held back so far, by front (monotonic). */
  counts(): ReadonlyMap<QuotaFront, number> {
    return this.limitedBy;
  }

  /** Buckets kept now (bounded by `maxKeys` + 1). */
  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, rate: IngestRate, now: number): Bucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
      if (this.buckets.size >= this.maxKeys && now - this.lastSweep >= SWEEP_AT_CAP_MS) this.sweep(now);
      if (this.buckets.size >= this.maxKeys) key = OVERFLOW;
      b = this.buckets.get(key);
      if (b === undefined) {
        b = { tokens: rate.burst, at: now, eventsPerSecond: rate.eventsPerSecond, burst: rate.burst };
        this.buckets.set(key, b);
        return b;
      }
    }
    refill(b, now);
    if (b.eventsPerSecond !== rate.eventsPerSecond || b.burst !== rate.burst) {
      // A reloaded rate: what was used stays used (a raised burst adds its difference).
      b.tokens = Math.min(rate.burst, b.tokens + Math.max(0, rate.burst - b.burst));
      b.eventsPerSecond = rate.eventsPerSecond;
      b.burst = rate.burst;
    }
    return b;
  }

  /** Drops every bucket that has refilled: it is the same as a new one. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      refill(b, now);
      if (b.tokens >= b.burst) this.buckets.delete(key);
    }
  }
}

function refill(b: Bucket, now: number): void {
  if (now > b.at) {
    b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) * b.eventsPerSecond) / 1000);
    b.at = now;
  }
}
