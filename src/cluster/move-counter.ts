import type { RestoredFrom, StopReason, VShardRunner } from './placement.js';

/** vshard moves on one node since it started, for `/metrics`. */
export interface MoveCounts {
  /** vshards this node started owning (restored, input resumed). */
  readonly starts: number;
  /** Starts that failed (the lease was released again). */
  readonly startFailures: number;
  /** Starts by where the state came from: the vshard's log, or this node's local copy (`--data`). */
  readonly restoredFrom: Readonly<Record<RestoredFrom, number>>;
  /** vshards it stopped owning, by why: handed off, lease lost or run out, node shutting down. */
  readonly stops: Readonly<Record<StopReason, number>>;
}

/**
 * A {@link VShardRunner} that counts what passes through it to the runner it wraps: the
 * placement loop's starts and stops, without the loop or the runner knowing.
 *
 * @example
 * ```ts
 * const moves = new MoveCounter(executor);
 * await ClusterMember.join(options, moves, log);
 * moves.counts().starts; // vshards taken so far
 * ```
 */
export class MoveCounter implements VShardRunner {
  private starts = 0;
  private startFailures = 0;
  private readonly restoredFrom: Record<RestoredFrom, number> = { log: 0, local: 0 };
  private readonly stops: Record<StopReason, number> = { handoff: 0, lost: 0, expired: 0, shutdown: 0 };

  constructor(private readonly inner: VShardRunner) {}

  async start(vshard: number, epoch: number): Promise<RestoredFrom> {
    try {
      const from = await this.inner.start(vshard, epoch);
      this.starts++;
      this.restoredFrom[from]++;
      return from;
    } catch (err) {
      this.startFailures++;
      throw err;
    }
  }

  async stop(vshard: number, epoch: number, reason: StopReason): Promise<void> {
    this.stops[reason]++;
    await this.inner.stop(vshard, epoch, reason);
  }

  /** The counts of a node that moved nothing yet. */
  static none(): MoveCounts {
    return {
      starts: 0,
      startFailures: 0,
      restoredFrom: { log: 0, local: 0 },
      stops: { handoff: 0, lost: 0, expired: 0, shutdown: 0 },
    };
  }

  counts(): MoveCounts {
    return {
      starts: this.starts,
      startFailures: this.startFailures,
      restoredFrom: { ...this.restoredFrom },
      stops: { ...this.stops },
    };
  }
}
