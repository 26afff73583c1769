import { toTwinError } from '../errors.js';
import { activitySecond } from './activity-time.js';
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
import type { JoinUpdates } from './join-buffer.js';
import type { Ticket, Work } from './work.js';
import type { TwinEvent } from '../model/twin-model.js';
import type { InboxConsumer } from './inbox.js';

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
export class WorkDispatch implements InboxConsumer {
  // The parts every item uses, as own fields (read on every item).
  private readonly runner: TurnRunner;
  private readonly step: StepCommit;
  private readonly stats: ShardStats;
  private readonly loader: TwinLoader;
  private readonly journaling: boolean;
  private readonly dedupeWindow: number;
  /** Live twins by path (the directory's map). */
  private readonly twins: ReadonlyMap<string, Twin>;
  /**
   * The clock's second when the current step began: what a twin's `lastActiveSec` takes
   * (passivation counts idle time in seconds, and a step is far shorter than the idle
   * thresholds), read once per step instead of once per item.
   */
  private stepSec = 0;
  /**
   * `deps.warm`, whose twins are stamped active as they start: a warmed twin had no turn
   * yet, and at lastActiveSec 0 the idle sweep at the end of the warm's own step stopped it.
   */
  private readonly warmTarget: WarmTarget;

  constructor(private readonly deps: WorkDeps) {
    this.runner = deps.runner;
    this.step = deps.step;
    this.stats = deps.stats;
    this.loader = deps.loader;
    this.journaling = deps.journaling;
    this.dedupeWindow = deps.dedupeWindow;
    this.twins = deps.directory.live;
    const warm = deps.warm;
    this.warmTarget = {
      store: warm.store,
      directory: warm.directory,
      log: warm.log,
      start: (twin, stored) => {
        const started = warm.start(twin, stored);
        started.lastActiveSec = this.stepSec;
        return started;
      },
    };
  }

  /** A step begins: items from now on are stamped with the clock's current second. */
  beginStep(): void {
    this.stepSec = activitySecond(this.deps.clock.now());
  }

  process(work: Work): void {
    if (work.kind === 'event') {
      this.event(work.path, work.event, work.ticket, work.index, work.seq, work);
      return;
    }
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
    const twin = this.activate(work);
    if (!twin) return; // buffered until its state has loaded, or failed
    twin.lastActiveSec = this.stepSec;
    switch (work.kind) {
      case 'command': {
        this.stats.commands++;
        // A client's retry (same idempotency key) of a command this twin took: acknowledged, no turn.
        const key = work.key !== undefined && this.dedupeWindow > 0 ? commandKey(work.lane, work.key) : 0;
        if (key !== 0 && twin.isDuplicate(key)) {
          this.stats.duplicates++;
          this.step.finish(work);
          break;
        }
        if (this.journaling) this.runner.cause = { kind: 'command', lane: work.lane };
        const error = this.runner.runTurn(twin, RUN_COMMAND, work.lane, work.value);
        if (!error) {
          if (key !== 0) {
            twin.remember(key, this.dedupeWindow);
            this.runner.markDirty(twin);
          }
          if (!twin.announced) this.runner.announce(twin);
        }
        this.step.finish(work, error);
        break;
      }
      case 'timer':
        if (this.journaling) this.runner.cause = { kind: 'timer', name: work.name };
        if (!this.runner.runTurn(twin, RUN_TIMER, work.name, work.due) && !twin.announced) this.runner.announce(twin);
        break;
      case 'joins':
        this.applyJoins(twin, work.updates);
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

  /**
   * A parent's join batch of this step's round: what `process` of a `joins` item does,
   * the item made only when the parent is not live (it must wait for its state or fail
   * with it); a live parent, the usual case, costs no item per parent and round.
   */
  processJoins(path: string, updates: JoinUpdates): void {
    const twin = this.twins.get(path);
    if (twin === undefined || twin.state !== 'active') {
      this.process({ kind: 'joins', path, updates });
      return;
    }
    twin.lastActiveSec = this.stepSec;
    this.applyJoins(twin, updates);
  }

  private applyJoins(twin: Twin, updates: JoinUpdates): void {
    if (this.journaling) this.runner.cause = JOIN_CAUSE;
    // A join from the input stream that the twin already applied (a replay after a restore).
    if (updates.inputSeq > 0 && updates.inputSeq <= twin.inputSeq) return;
    this.runner.applyJoins(twin, updates);
    if (updates.inputSeq > 0) {
      twin.advanceInputSeq(updates.inputSeq);
      this.runner.markDirty(twin);
    }
    if (!twin.announced) this.runner.announce(twin); // children with state make their parent real
  }

  /** An event queued without a work item (see Inbox): item `index` of `ticket`'s batch. */
  processEvent(event: TwinEvent, ticket: Ticket | null, index: number): void {
    this.event(event.subject, event, ticket, index, undefined, null);
  }

  /**
   * An event's turn (one seen recently is acknowledged without one). `work` is its item when
   * it came as one; an event queued without one gets an item only if it must wait for its
   * twin's state or fails to start it (the live twin is the usual case).
   */
  private event(
    path: string,
    event: TwinEvent,
    ticket: Ticket | null,
    index: number,
    seq: number | undefined,
    work: Work | null,
  ): void {
    let twin = this.twins.get(path);
    if (twin === undefined || twin.state !== 'active') {
      twin = this.activate(work ?? { kind: 'event', path, event, ticket, index }) ?? undefined;
      if (!twin) return;
    }
    twin.lastActiveSec = this.stepSec;
    this.stats.events++;
    const window = this.dedupeWindow;
    const key = window > 0 ? DedupeWindow.hash(event.source, event.id) : 0;
    if ((window > 0 && twin.isDuplicate(key)) || (seq !== undefined && seq <= twin.inputSeq)) {
      this.stats.duplicates++;
      this.step.finishInput('event', path, ticket, index); // its effect is already there: acknowledge, do nothing
      return;
    }
    if (this.journaling) this.runner.cause = { kind: 'event', id: event.id, source: event.source, type: event.type };
    const error = this.runner.runTurn(twin, RUN_EVENT, event);
    if (!error) {
      if (window > 0) {
        twin.remember(key, window);
        this.runner.markDirty(twin);
      }
      if (seq !== undefined) {
        twin.advanceInputSeq(seq);
        this.runner.markDirty(twin);
      }
      if (!twin.announced) this.runner.announce(twin);
    }
    this.step.finishInput('event', path, ticket, index, error);
  }

  /** The live twin for a work item, started if needed; null when it was buffered or failed (then finished). */
  private activate(work: Work): Twin | null {
    try {
      return this.loader.activate(work);
    } catch (err) {
      this.step.finish(work, toTwinError(err));
      return null;
    }
  }

  /** One warm step (see {@link warmStep}); its ticket gets what it did. */
  private warmChunk(work: Extract<Work, { kind: 'warm' }>): void {
    try {
      work.ticket.result = warmStep(this.warmTarget, work.path, work.after, work.owned);
      this.step.finish(work);
    } catch (err) {
      this.step.finish(work, toTwinError(err));
    }
  }
}

/**
 * The dedupe key of a command's idempotency key: in the twin's window with its events'
 * (source, id) keys, under a source no CloudEvent has, per lane.
 */
function commandKey(lane: string, key: string): number {
  return DedupeWindow.hash(`\u0000command/${lane}`, key);
}
