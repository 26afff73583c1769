import type { SharedPaths } from '../lanes/lane.js';
import { ThrottledWarning } from '../logger.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { StoredTwin } from '../store/state-store.js';
import type { CorruptRecords } from './corrupt-records.js';
import type { ObserverRegistry } from './observers.js';
import { RUN_HOOK, START_CAUSE, STOP_CAUSE } from './shard-options.js';
import type { ShardStats } from './stats.js';
import type { StepCommit } from './step-commit.js';
import type { TurnRunner } from './turn-runner.js';
import type { Twin } from './twin.js';
import type { TwinDirectory } from './twin-directory.js';

/** At most one "onStart failed" (and one "onStop failed") line per this many ms. */
const HOOK_FAILURE_LOG_MS = 10_000;

/** What starting and stopping twins needs from their shard. */
export interface LifecycleDeps {
  readonly directory: TwinDirectory;
  readonly runner: TurnRunner;
  readonly observers: ObserverRegistry;
  readonly step: StepCommit;
  readonly corrupt: CorruptRecords;
  readonly stats: ShardStats;
  readonly log: TwinLogger;
  readonly journaling: boolean;
}

/**
 * Starts and stops a shard's twins: restore, `onStart`, the announce to the parent; then
 * `onStop`, the final write and leaving memory. Also drops, at the end of each step, the
 * twins that were started without state and still have none (see {@link dropStateless}).
 */
export class TwinLifecycle {
  /** Twins started without stored state, until they have some (see dropStateless). */
  private stateless: Twin[] = [];

  /** A live twin's own path string (restored joins key their children by it). */
  private readonly sharedPath: SharedPaths;
  /**
   * A hook that throws for every twin (a model bug) fails once per start or stop: reads of
   * many paths, or a restart of many twins, would write a line each. One line per 10 s per
   * hook says so, with the count (each failure is also counted in `turnFailures`).
   */
  private readonly startFailed: ThrottledWarning;
  private readonly stopFailed: ThrottledWarning;

  constructor(private readonly deps: LifecycleDeps) {
    const live = deps.directory.live;
    this.sharedPath = (path) => live.get(path)?.path;
    this.startFailed = new ThrottledWarning(deps.log, 'onStart failed', HOOK_FAILURE_LOG_MS, 'failures');
    this.stopFailed = new ThrottledWarning(deps.log, 'onStop failed', HOOK_FAILURE_LOG_MS, 'failures');
  }

  /** Some twin started without state is still live (a removed link may let it go). */
  get hasStateless(): boolean {
    return this.stateless.length > 0;
  }

  /**
   * Restores and starts a twin (already in the live map); returns the twin that started.
   * A record that decodes but that its model cannot restore (a lane value of the wrong
   * type, a `migrate` that throws) is damage like bytes that do not decode: set aside,
   * counted, logged, and the twin starts fresh, as a new copy (the failed restore may have
   * filled some lanes). Failing the call instead would fail every call of the twin forever.
   */
  start(twin: Twin, stored: StoredTwin | undefined): Twin {
    const { directory, runner, stats } = this.deps;
    if (stored) {
      try {
        twin.restore(stored, this.sharedPath);
      } catch (err) {
        this.deps.corrupt.setAsideUnrestorable(twin.path, err);
        twin = directory.create(twin.path);
        directory.live.set(twin.path, twin);
        stored = undefined;
      }
    }
    twin.state = 'active';
    stats.started++;
    const onStart = twin.definition.def.onStart;
    if (onStart) {
      if (this.deps.journaling) runner.cause = START_CAUSE;
      const error = runner.runTurn(twin, RUN_HOOK, onStart);
      if (error) this.startFailed.note({ path: twin.path, err: error });
    } else if (twin.timersChanged) {
      // No hook, no turn: what its commit would have done for a restore that must rewrite
      // the record (a new model version) is this.
      runner.markDirty(twin);
    }
    if (stored)
      runner.announce(twin); // a new twin announces after its first input turn (see Twin.announced)
    else this.stateless.push(twin);
    return twin;
  }

  /** Runs `onStop`, queues the twin's final write and drops it from memory. */
  stop(twin: Twin): void {
    const { directory, runner, stats } = this.deps;
    const onStop = twin.definition.def.onStop;
    if (this.deps.journaling) runner.cause = STOP_CAUSE;
    const error = runner.runTurn(twin, RUN_HOOK, onStop);
    if (error) this.stopFailed.note({ path: twin.path, err: error });
    twin.state = 'stopped';
    directory.live.delete(twin.path);
    runner.markDirty(twin);
    this.deps.step.twinStopped(twin.path);
    stats.stopped++;
  }

  /**
   * Stops the twins started this step that still have no state (only read, or their input
   * was rejected): any routed path can be read, and keeping each such twin live would let
   * reads of made-up paths fill memory. One with a link or a timer stays until it has none.
   */
  dropStateless(): void {
    if (this.stateless.length === 0) return;
    const live = this.deps.directory.live;
    const keep: Twin[] = [];
    for (const twin of this.stateless) {
      if (twin.announced || twin.state !== 'active' || live.get(twin.path) !== twin) continue;
      if (this.deps.observers.forPath(twin.path) !== undefined || twin.hasTimers) keep.push(twin);
      else this.stop(twin);
    }
    this.stateless = keep;
  }
}
