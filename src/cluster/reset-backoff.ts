/** A vshard that has not restarted for this long starts over at no wait. */
export const RESET_QUIET_MS = 60_000;
/** The first wait of a restart that follows another within {@link RESET_QUIET_MS}, doubled per restart. */
export const RESET_FIRST_WAIT_MS = 200;
/** The longest wait before a restart. */
export const RESET_MAX_WAIT_MS = 2_000;

/**
 * How long a vshard waits, stopped, before it restarts from its log again. A restart is
 * for a passing failure (a commit JetStream did not take, an input that failed for a
 * reason that should pass); one that keeps failing the same way would otherwise restart
 * the vshard as fast as its log reads (the bug bash of 2026-12-07 saw 6-7 restarts a
 * second, each a log read and a warning, from an input that could never apply). The first
 * restart in a quiet minute waits nothing; each one after it waits twice as long, up to
 * 2 s, the most a start from the log waits between its own attempts: a NATS leader election
 * makes several restarts in a row, and waits up to 30 s could hold a vshard back past what its
 * clients wait for (suspected in a failover test that once missed its 30 s). Per
 * vshard; the clock is injected (tests).
 *
 * @example
 * ```ts
 * const backoff = new ResetBackoff(Date.now);
 * backoff.next(7); // 0, then 200, 400, 800, … ms while restarts keep coming
 * ```
 */
export class ResetBackoff {
  private readonly recent = new Map<number, { count: number; at: number }>();

  constructor(private readonly now: () => number) {}

  /** The wait before restarting `vshard` now (ms), counting this restart. */
  next(vshard: number): number {
    const now = this.now();
    const last = this.recent.get(vshard);
    const count = last !== undefined && now - last.at < RESET_QUIET_MS ? last.count + 1 : 0;
    this.recent.set(vshard, { count, at: now });
    return count === 0 ? 0 : Math.min(RESET_FIRST_WAIT_MS * 2 ** (count - 1), RESET_MAX_WAIT_MS);
  }

  /** The vshard left this node: its next restart here starts over. */
  forget(vshard: number): void {
    this.recent.delete(vshard);
  }
}
