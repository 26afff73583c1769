/**
 * The time a {@link RateGate} keeps: the runtime's clock (a simulated one in tests and
 * replays). The engine's `Clock` fits; declared here so streams need nothing above them.
 */
export interface GateClock {
  now(): number;
  /** Calls `fn` once at (or after) `at`; returns a function that cancels it. */
  schedule(at: number, fn: () => void): () => void;
}

/**
 * WARP `rate` for one link: after the initial state, its events leave in batches at most
 * every `rate` ms. What arrives in between waits in the link's outbox (conflated, for
 * state lanes) and the batch is released when the interval has elapsed; an event after a
 * quiet interval goes at once. The initial state is never held back.
 *
 * The owner asks {@link RateGate.admit} on each event (false: hold it, the gate calls
 * `release` when the batch is due), checks {@link RateGate.open} before taking events, and
 * reports {@link RateGate.sent} once a batch went out in full.
 *
 * @example
 * ```ts
 * const gate = new RateGate(100, clock, () => host.wake(link));
 * gate.live(false);
 * if (gate.admit()) host.wake(link); // else the gate wakes it when the interval elapsed
 * ```
 */
export class RateGate {
  private synced = false;
  private releasing = false;
  private nextDue = 0;
  private cancelTimer: (() => void) | null = null;
  private closed = false;

  constructor(
    readonly rate: number,
    private readonly clock: GateClock,
    private readonly release: () => void,
  ) {}

  /** Events may be taken now: still syncing, or a batch is due. */
  get open(): boolean {
    return !this.synced || this.releasing;
  }

  /** The initial state has been delivered to the outbox; `pending` says whether some of it waits (it goes now). */
  live(pending: boolean): void {
    this.synced = true;
    if (pending) this.releasing = true;
  }

  /** An event arrived: true when it may go now; otherwise it waits and the gate arms its timer. */
  admit(): boolean {
    if (this.open) return true;
    if (this.clock.now() >= this.nextDue) {
      this.releasing = true;
      return true;
    }
    this.cancelTimer ??= this.clock.schedule(this.nextDue, () => {
      this.cancelTimer = null;
      if (this.closed) return;
      this.releasing = true;
      this.release();
    });
    return false;
  }

  /** The batch (also one of the initial state) went out in full: the next one waits a whole interval. */
  sent(): void {
    this.releasing = false;
    this.nextDue = this.clock.now() + this.rate;
  }

  /** Stops the timer for good. */
  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}
