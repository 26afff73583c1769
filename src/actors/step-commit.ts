import type { TwinError } from '../errors.js';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import type { RemoteMessage } from './shard-options.js';
import { UnstorableWritesError, type StateStore } from '../store/state-store.js';
import { GroupCommit } from './group-commit.js';
import { layoutMoves } from '../lanes/inline-entries.js';
import type { ShardStats } from './stats.js';
import type { TurnRunner } from './turn-runner.js';
import type { TwinDirectory } from './twin-directory.js';
import type { Ticket, Work } from './work.js';

/** What a shard's step commit needs (the shard's parts it hands over, and its output sink). */
export interface StepCommitDeps {
  readonly store: StateStore;
  readonly runner: TurnRunner;
  readonly directory: TwinDirectory;
  readonly stats: ShardStats;
  readonly log: TwinLogger;
  readonly onOutput?: ((event: DerivedEvent) => void) | undefined;
  /** Where messages held for their step's commit go once it committed (see ShardOptions.remoteAfterCommit). */
  readonly onRemote?: ((message: RemoteMessage) => void) | undefined;
}

/**
 * The end of a shard step: what the step finished (tickets, accepted items, stopped
 * twins) is collected as the step runs, then handed with the step's writes and outputs to
 * group commit. Tickets resolve and outputs leave once the commit settled; a twin stopped
 * in the step may start again only once its final writes are readable; a failed commit
 * sends its twins back to their stored state.
 */
export class StepCommit {
  private readonly commit: GroupCommit;
  private tickets: Ticket[] = [];
  /**
   * Tickets of the events and commands the step accepted, once each (a batch's items are
   * consecutive): they fail if the step's commit fails. Kept as tickets, not items: a list
   * of every accepted item cost an array of the step's size per step.
   */
  private touched: Ticket[] = [];
  private lastTouched: Ticket | null = null;
  private stopped: string[] = [];
  /** Joins and commands for twins elsewhere, held until this step commits (remoteAfterCommit). */
  private remote: RemoteMessage[] = [];

  constructor(private readonly deps: StepCommitDeps) {
    this.commit = new GroupCommit(
      deps.store,
      (outputs, remote) => this.committed(outputs, remote),
      (err, paths) => {
        deps.log.error({ err, twins: paths.size }, 'state commit failed; its twins go back to their stored state');
        if (err.cause instanceof UnstorableWritesError) deps.stats.unstorable += err.cause.paths.size;
        this.reset([...paths]);
      },
    );
  }

  /** A commit is in flight or queued. */
  get busy(): boolean {
    return this.commit.busy;
  }

  /** Resolves when every commit handed over so far settled. */
  idle(): Promise<void> {
    return this.commit.idle();
  }

  /** A work item is done (rejected with `error`, or accepted): its ticket counts it. */
  finish(work: Work, error?: TwinError): void {
    const ticket = 'ticket' in work ? (work.ticket as Ticket | null) : null;
    this.finishInput(work.kind, work.path, ticket, 'index' in work ? work.index : 0, error);
  }

  /** Item `index` of `ticket`'s batch, of kind `kind` and for the twin at `path`, is done (see {@link finish}). */
  finishInput(kind: Work['kind'], path: string, ticket: Ticket | null, index: number, error?: TwinError): void {
    if (error && kind !== 'joins') this.deps.log.debug({ path, code: error.code, err: error.message }, 'work rejected');
    if (!ticket) return;
    if (!error && (kind === 'event' || kind === 'command') && ticket !== this.lastTouched) {
      this.lastTouched = ticket;
      this.touched.push(ticket);
    }
    ticket.done(index, error);
    if (ticket.complete) this.tickets.push(ticket);
  }

  /** A message for a twin owned elsewhere, sent once this step committed. */
  holdRemote(message: RemoteMessage): void {
    this.remote.push(message);
  }

  /** A twin stopped in this step: it is held until its final writes are readable. */
  twinStopped(path: string): void {
    this.stopped.push(path);
  }

  /** Hands the step's writes, finished tickets and outputs to group commit. */
  flush(): void {
    const { runner, stats } = this.deps;
    const moves = layoutMoves.count;
    const writes = runner.takeWrites();
    // A keyed lane moved between its record and entries: the steps after wait for this commit.
    const barrier = layoutMoves.count !== moves;
    stats.writes += writes.length;
    const stopped = this.stopped;
    // Handed over only when it holds something, and never kept: a queued group adopts the
    // array it is given, and this step's list must not be the next step's.
    const remote = this.remote;
    if (remote.length > 0) this.remote = [];
    this.commit.submit(
      writes,
      this.tickets,
      runner.takeOutputs(),
      this.touched,
      remote.length > 0 ? remote : undefined,
      barrier,
    );
    if (stopped.length > 0) this.holdStopped(stopped);
    this.tickets = [];
    this.touched = [];
    this.lastTouched = null;
    this.stopped = [];
  }

  /**
   * Twins stopped this step may start again only once their final writes are readable:
   * after this step's commit settles, and, for a store that acknowledges before it commits
   * (relaxed LMDB), once it says they are visible. Released in the commit's own turn when
   * the store needs no wait, so a simulated clock advanced right after sees them free.
   */
  private holdStopped(stopped: string[]): void {
    let release!: () => void;
    const readable = new Promise<void>((resolve) => (release = resolve));
    const { directory, store } = this.deps;
    directory.stopped(stopped, readable);
    this.commit.whenSettled(() => {
      const done = (): void => {
        directory.released(stopped, readable);
        release();
      };
      const visible = store.visible?.();
      if (visible) visible.then(done, done);
      else done();
    });
  }

  /**
   * Drops live twins from memory without a write, so they start again from what the store
   * holds: memory and disk agree again after their state could not be stored or a commit
   * holding their writes failed. A restart waits until the commits in flight settled.
   */
  reset(paths: readonly string[]): void {
    const live = this.deps.directory.live;
    const dropped: string[] = [];
    for (const path of paths) {
      const twin = live.get(path);
      if (!twin || twin.state !== 'active') continue;
      twin.state = 'stopped';
      live.delete(path);
      dropped.push(path);
    }
    if (dropped.length > 0) this.holdStopped(dropped);
  }

  private committed(outputs: DerivedEvent[], remote: RemoteMessage[]): void {
    const { stats, onOutput: sink, log } = this.deps;
    for (const m of remote) this.deps.onRemote!(m);
    stats.outputs += outputs.length;
    if (!sink) return;
    for (const e of outputs) {
      try {
        sink(e);
      } catch (err) {
        log.error({ err, type: e.type }, 'output sink threw');
      }
    }
  }
}
