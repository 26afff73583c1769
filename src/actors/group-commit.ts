import { TwinError } from '../errors.js';
import type { StateStore, StateWrite } from '../store/state-store.js';
import type { DerivedEvent } from '../model/twin-model.js';
import type { RemoteMessage } from './shard-options.js';
import type { Ticket } from './work.js';

interface Group {
  writes: StateWrite[];
  tickets: Ticket[];
  outputs: DerivedEvent[];
  /** Messages for twins elsewhere that leave only if this commit succeeds (see ShardOptions.remoteAfterCommit). */
  remote: RemoteMessage[];
  /** Tickets with an item accepted in these steps, complete or not: a failed commit fails them all. */
  touched: Ticket[];
  /** Called once the group settled (see {@link GroupCommit.whenSettled}). */
  settled: (() => void)[];
  /** A keyed lane moved between record and entries in these steps (see {@link GroupCommit.submit}). */
  barrier: boolean;
}

/** The empty list of a step that holds no remote messages (never written to). */
const NONE: RemoteMessage[] = [];

/** Commits handed to the store and not yet settled, at most; later steps merge into one queued group. */
const MAX_IN_FLIGHT = 4;

/**
 * Group commit: each shard step hands over its writes, the tickets it completed and the
 * derived events it produced. Up to {@link MAX_IN_FLIGHT} commits go to the store at once
 * (a store like LMDB encodes on this thread and writes on its own, so encoding step N+1
 * overlaps committing step N); beyond that, later steps queue up and go together in the
 * next one, so disk latency turns into larger batches rather than lower throughput.
 * Tickets resolve and outputs leave only after their writes are committed, and in step
 * order: a commit settles only after every earlier one did.
 */
export class GroupCommit {
  private queued: Group | null = null;
  private inFlight = 0;
  /** Settles when the newest commit handed to the store settled (and so every earlier one). */
  private tail: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];
  /** The last group handed to the store, until it settles. */
  private newest: Group | null = null;
  /** A group holding a layout move, while in flight: later steps queue behind it. */
  private barrier: Group | null = null;
  commits = 0;

  constructor(
    private readonly store: StateStore,
    private readonly onCommitted: (outputs: DerivedEvent[], remote: RemoteMessage[]) => void,
    /** A commit failed: the twins it held writes of must go back to their stored state. */
    private readonly onFailed: (error: TwinError, paths: ReadonlySet<string>) => void,
  ) {}

  get busy(): boolean {
    return this.inFlight > 0 || this.queued !== null;
  }

  submit(
    writes: StateWrite[],
    tickets: Ticket[],
    outputs: DerivedEvent[],
    touched: Ticket[] = [],
    remote: RemoteMessage[] = NONE,
    barrier = false,
  ): void {
    if (writes.length === 0 && tickets.length === 0 && outputs.length === 0 && remote.length === 0) return;
    if (!this.queued) {
      // The usual case: adopt the step's arrays instead of copying them.
      this.queued = {
        writes,
        tickets,
        outputs,
        touched,
        remote: remote.length > 0 ? remote : NONE,
        settled: [],
        barrier,
      };
    } else {
      const q = this.queued;
      if (barrier) q.barrier = true;
      for (const w of writes) q.writes.push(w);
      for (const t of tickets) q.tickets.push(t);
      for (const o of outputs) q.outputs.push(o);
      for (const t of touched) q.touched.push(t);
      if (remote.length > 0) {
        if (q.remote === NONE) q.remote = [];
        for (const m of remote) q.remote.push(m);
      }
    }
    // A commit that moves a keyed lane (every entry's place) holds the steps after it back:
    // built on that move, they must not reach the store if it fails (see the failure below).
    if (this.inFlight < MAX_IN_FLIGHT && this.barrier === null) this.start();
  }

  /**
   * Calls `done` once everything submitted so far has settled (committed or failed): when
   * the queued group, else the newest commit in flight, settles (commits settle in order),
   * or now when nothing is pending. Unlike {@link GroupCommit.idle} it does not wait for
   * steps submitted later, and it runs in the same turn as the commit's other effects.
   */
  whenSettled(done: () => void): void {
    const group = this.queued ?? this.newest;
    if (group) group.settled.push(done);
    else done();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private start(): void {
    const group = this.queued!;
    this.queued = null;
    this.inFlight++;
    this.newest = group;
    if (group.barrier) this.barrier = group;
    let write: Promise<void>;
    try {
      write = group.writes.length > 0 ? this.store.write(group.writes) : Promise.resolve();
    } catch (err) {
      write = Promise.reject(err); // a store that throws instead of rejecting
    }
    const previous = this.tail;
    // Settle in order: wait for the earlier commits, then report this one.
    this.tail = write
      .then(
        async () => {
          await previous;
          this.commits++;
          // Before the acknowledgements: a caller resuming on its ticket (`await rt.stop(p)`,
          // then a simulated clock advanced) finds a stopped twin free to start again.
          settleGroup(group);
          for (const t of group.tickets) if (t.complete) t.resolve();
          this.onCommitted(group.outputs, group.remote);
        },
        async (err: unknown) => {
          await previous;
          // Every ticket with an item in this commit fails, also one that completes in a later
          // step (a batch spanning steps): its later commit must not acknowledge what this
          // one lost. Resent, the items that did commit are recognised as duplicates.
          const error = new TwinError(
            'TWIN_STORE_FAILED',
            `commit of ${group.writes.length} writes failed: ${(err as Error)?.message ?? err}`,
            undefined,
            { cause: err },
          );
          settleGroup(group);
          for (const t of group.tickets) t.fail(error);
          for (const t of group.touched) t.fail(error);
          const paths = new Set(group.writes.map((w) => w.path));
          this.onFailed(error, paths);
          // Steps queued behind a failed move were built on it: their writes of these twins
          // would store a layout the store never got. Not handed over yet, they fail too.
          const q = this.barrier === group ? this.queued : null;
          if (q && q.writes.some((w) => paths.has(w.path))) {
            this.queued = null;
            for (const t of q.tickets) t.fail(error);
            for (const t of q.touched) t.fail(error);
            this.onFailed(error, new Set(q.writes.map((w) => w.path)));
            settleGroup(q);
          }
        },
      )
      .catch((err: unknown) => {
        // Only a throwing callback gets here; the chain must stay resolved for later commits.
        this.onFailed(
          new TwinError('TWIN_STORE_FAILED', `after commit: ${(err as Error)?.message ?? err}`, undefined, {
            cause: err,
          }),
          new Set(),
        );
      })
      .finally(() => {
        if (this.newest === group) this.newest = null;
        if (this.barrier === group) this.barrier = null;
        settleGroup(group); // (a callback that threw above skipped the rest)
        this.inFlight--;
        if (this.queued) this.start();
        else if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
      });
  }
}

/** Runs a group's settled callbacks, each once (they are taken from the group as they run). */
function settleGroup(group: Group): void {
  const callbacks = group.settled;
  while (callbacks.length > 0) callbacks.shift()!();
}
