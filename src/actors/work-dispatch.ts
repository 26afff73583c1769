import { toTwinError } from '../errors.js';
import type { Clock } from './clock.js';
import { DedupeWindow } from './dedupe.js';
import type { ObserverRegistry } from './observers.js';
import { JOIN_CAUSE, RUN_COMMAND, RUN_EVENT, RUN_TIMER } from './shard-options.js';
import type { ShardStats } from './stats.js';
import type { StepCommit } from './step-commit.js';
import type { TurnRunner } from './turn-runner.js';
import type { Twin } from './twin.js';
import type { TwinDirectory } from './twin-directory.js';
import type { TwinLifecycle } from './twin-lifecycle.js';
import type { TwinLoader } from './twin-loader.js';
import { warmStep, type WarmTarget } from './warm.js';
import type { Work } from './work.js';

/** The shard's parts a work item may need. */
export interface WorkDeps {
  readonly clock: Clock;
  readonly directory: TwinDirectory;
  readonly observers: ObserverRegistry;
  readonly loader: TwinLoader;
  readonly lifecycle: TwinLifecycle;
  readonly runner: TurnRunner;
  readonly step: StepCommit;
  readonly stats: ShardStats;
  readonly warm: WarmTarget;
  readonly journaling: boolean;
  /** Events remembered per twin for dedupe (0: off); see ShardOptions.dedupeWindow. */
  readonly dedupeWindow: number;
}

/**
 * What each kind of inbox item does (see {@link Work}): an event or command runs a turn
 * (an event seen recently is acknowledged without one), a timer or a parent's join
 * updates run a turn, a call runs a function on the twin between turns, a stop stops it,
 * a warm starts a chunk of stored twins. Every item first finds or starts its twin
 * ({@link TwinLoader.activate}); one whose twin is still loading waits there.
 */
export class WorkDispatch {
  // The parts every item uses, as own fields (read on every item).
  private readonly runner: TurnRunner;
  private readonly step: StepCommit;
  private readonly stats: ShardStats;
  private readonly loader: TwinLoader;
  private readonly journaling: boolean;
  private readonly dedupeWindow: number;

  constructor(private readonly deps: WorkDeps) {
    this.runner = deps.runner;
    this.step = deps.step;
    this.stats = deps.stats;
    this.loader = deps.loader;
    this.journaling = deps.journaling;
    this.dedupeWindow = deps.dedupeWindow;
  }

  process(work: Work): void {
    if (work.kind === 'warm') {
      this.warmChunk(work);
      return;
    }
    if (
      work.kind === 'stop' &&
      (!this.deps.directory.live.has(work.path) ||
        (work.released && this.deps.observers.forPath(work.path) !== undefined))
    ) {
      this.step.finish(work); // stopping a twin that is not live is already done; a released one an exact link watches stays
      return;
    }
    let twin: Twin | null;
    try {
      twin = this.loader.activate(work);
    } catch (err) {
      this.step.finish(work, toTwinError(err));
      return;
    }
    if (!twin) return; // buffered until its state has loaded
    twin.lastActiveSec = (this.deps.clock.now() / 1000) | 0;
    switch (work.kind) {
      case 'event': {
        this.stats.events++;
        const window = this.dedupeWindow;
        const key = window > 0 ? DedupeWindow.hash(work.event.source, work.event.id) : 0;
        if ((window > 0 && twin.isDuplicate(key)) || (work.seq !== undefined && work.seq <= twin.inputSeq)) {
          this.stats.duplicates++;
          this.step.finish(work); // its effect is already there: acknowledge, do nothing
          break;
        }
        if (this.journaling)
          this.runner.cause = { kind: 'event', id: work.event.id, source: work.event.source, type: work.event.type };
        const error = this.runner.runTurn(twin, RUN_EVENT, work.event);
        if (!error) {
          if (window > 0) {
            twin.remember(key, window);
            this.runner.markDirty(twin);
          }
          if (work.seq !== undefined) {
            twin.advanceInputSeq(work.seq);
            this.runner.markDirty(twin);
          }
          if (!twin.announced) this.runner.announce(twin);
        }
        this.step.finish(work, error);
        break;
      }
      case 'command': {
        this.stats.commands++;
        if (this.journaling) this.runner.cause = { kind: 'command', lane: work.lane };
        const error = this.runner.runTurn(twin, RUN_COMMAND, work.lane, work.value);
        if (!error && !twin.announced) this.runner.announce(twin);
        this.step.finish(work, error);
        break;
      }
      case 'timer':
        if (this.journaling) this.runner.cause = { kind: 'timer', name: work.name };
        if (!this.runner.runTurn(twin, RUN_TIMER, work.name, work.due) && !twin.announced) this.runner.announce(twin);
        break;
      case 'joins':
        if (this.journaling) this.runner.cause = JOIN_CAUSE;
        // A join from the input stream that the twin already applied (a replay after a restore).
        if (work.updates.inputSeq > 0 && work.updates.inputSeq <= twin.inputSeq) break;
        this.runner.applyJoins(twin, work.updates);
        if (work.updates.inputSeq > 0) {
          twin.advanceInputSeq(work.updates.inputSeq);
          this.runner.markDirty(twin);
        }
        if (!twin.announced) this.runner.announce(twin); // children with state make their parent real
        break;
      case 'call':
        try {
          work.ticket.result = work.fn(twin);
          this.step.finish(work);
        } catch (err) {
          this.step.finish(work, toTwinError(err));
        }
        break;
      case 'stop':
        this.deps.lifecycle.stop(twin);
        this.step.finish(work);
        break;
    }
  }

  /** One warm step (see {@link warmStep}); its ticket gets what it did. */
  private warmChunk(work: Extract<Work, { kind: 'warm' }>): void {
    try {
      work.ticket.result = warmStep(this.deps.warm, work.path, work.after, work.owned);
      this.step.finish(work);
    } catch (err) {
      this.step.finish(work, toTwinError(err));
    }
  }
}
