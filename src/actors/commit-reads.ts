import type { LaneEvent } from '../lanes/events.js';
import type { Lane } from '../lanes/lane.js';
import type { JoinTarget } from './catalog.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { ShardStats } from './stats.js';
import type { Twin } from './twin.js';

/** What a commit-time read returns when the model code behind it threw. */
export const READ_FAILED = Symbol('commit-time read failed');

/**
 * Reads a shard makes while committing a turn, outside the turn itself. They can run
 * model code (a demand lane's compute, a join's projection); one that throws is logged,
 * counted as a failure and that update skipped, so observers and parents keep their last
 * value and the shard goes on.
 */
export class CommitReads {
  constructor(
    private readonly stats: ShardStats,
    private readonly log: TwinLogger,
  ) {}

  /** The event observers get for one change of `lane`. */
  laneEvent(twin: Twin, lane: Lane, key: string | undefined): LaneEvent | typeof READ_FAILED {
    try {
      return lane.changeEvent(key);
    } catch (err) {
      return this.failed(twin, lane.name, err);
    }
  }

  /** The lane's value as parents join it. */
  laneValue(twin: Twin, lane: Lane): unknown {
    try {
      return lane.toJSON();
    } catch (err) {
      return this.failed(twin, lane.name, err);
    }
  }

  /** A join's projection of a child's lane value. */
  project(child: Twin, target: JoinTarget, value: unknown): unknown {
    if (value === READ_FAILED) return READ_FAILED;
    try {
      return target.project!(value);
    } catch (err) {
      return this.failed(child, `${target.lane} (projection)`, err);
    }
  }

  private failed(twin: Twin, what: string, err: unknown): typeof READ_FAILED {
    this.stats.turnFailures++;
    this.log.error({ path: twin.path, lane: what, err }, 'model code threw while committing; update skipped');
    return READ_FAILED;
  }
}
