import type { ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JoinUpdates } from '../actors/join-buffer.js';
import { TwinError, toTwinError } from '../errors.js';
import { ThrottledWarning } from '../logger.js';
import type { Shard } from '../actors/shard.js';
import { Ticket } from '../actors/work.js';
import type { TwinEvent, TwinLogger } from '../model/twin-model.js';
import { decodeInput, inputPosition, type DecodedInput } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

/** The error of a ticket's rejected item. */
const errorOf = (r: { error: TwinError }): TwinError => r.error;

/** The no-op a join's settle mark runs on its parent. */
const settledMark = (): undefined => undefined;

/** Events of one vshard in the shard's inbox and not yet committed, at most (then reading pauses). */
const MAX_IN_FLIGHT = 2_048;

/** At most one log line per vshard this often about inputs not applied. */
const FAILURE_LOG_MS = 10_000;

/** A consumer that delivered nothing for this long is checked against the stream (see {@link InputConsumer.checkStalled}). */
const STALL_MS = 3_000;

/**
 * Feeds one owned vshard's input stream into the shard, in stream order, from just after
 * the sequence its state includes: events as event work carrying their sequence (the twin
 * stores the highest it applied), join values from other vshards as join work in the same
 * inbox. At most {@link MAX_IN_FLIGHT} events wait for their commit; past that it stops
 * reading until they commit (JetStream holds the rest).
 *
 * {@link lowWater} is the restart point the state log records: every input up to it has
 * settled. Not the highest sequence applied: a twin held back (stopping, reloading) may
 * apply an earlier event after a later one of another twin committed, and a restart after
 * the highest would skip it. Replaying from the low-water mark re-offers what was applied
 * after it; each twin skips those by its own `$seq`.
 */
export class InputConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  /** Sequence of the next message to take. */
  private next: number;
  /** Monotonic ms of the last message taken (or of the consumer's making). */
  private lastTakenAt = performance.now();
  private checking = false;
  /** Inputs not applied since the last log line about them. */
  private readonly failureLog: ThrottledWarning;
  private readonly watchdog: NodeJS.Timeout;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  /** Sequences taken and not yet below {@link lowWater}, in order, with whether each settled. */
  private readonly pending: { seq: number; settled: boolean }[] = [];
  private pendingHead = 0;
  /** Every input up to this sequence has settled (applied and committed, refused, or needing nothing). */
  lowWater: number;
  /** Resolves when the loop ended (after {@link stop}). */
  readonly done: Promise<void>;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: SpaceNames,
    private readonly vshard: number,
    after: number,
    private readonly shard: Shard,
    private readonly log: TwinLogger,
    /** The vshard input for a twin path belongs to; throws for a path no model routes (see inputVshardOf). */
    private readonly vshardOfInput: (path: string) => number,
    /** Told when {@link lowWater} moved. */
    private readonly onSettled: () => void = () => undefined,
    /** Told when an input failed for a passing reason (see {@link settledForGood}): it must be taken again. */
    private readonly onUnsettled: (seq: number) => void = () => undefined,
    /** The join fence (ChangelogStore.admitJoin): whether a join from `child` sent under `epoch` may apply. */
    private readonly admitJoin: (child: string, epoch: number | undefined) => boolean = () => true,
  ) {
    this.failureLog = new ThrottledWarning(log, 'cluster: input was not applied', FAILURE_LOG_MS, 'failed');
    this.lowWater = after;
    this.next = after + 1;
    this.done = this.run();
    this.watchdog = setInterval(() => void this.checkStalled(), STALL_MS);
    this.watchdog.unref();
  }

  /** Resolves once every event it enqueued has committed or failed. */
  async drained(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  /** Stops reading; what is in the inbox still commits. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    void this.messages?.close();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Reads until stopped. A consumer that cannot be made or that ends (a JetStream leader
   * election, a server gone) is made again from just after the last message taken: what
   * was taken is in the inbox and commits, or breaks the vshard, which then restarts from
   * its log with a new consumer.
   */
  private async run(): Promise<void> {
    for (let attempt = 0, made = false; !this.stopped; attempt++) {
      // Every pass after the first makes the consumer again (it failed, ended or stalled).
      if (made) this.shard.stats.inputLog.consumerRestarts++;
      made = true;
      try {
        const from = this.next;
        const consumer = await this.js.consumers.get(this.names.inputStream, {
          filter_subjects: this.names.input(this.vshard),
          ...(from > 1 ? { deliver_policy: 'by_start_sequence' as never, opt_start_seq: from } : {}),
        });
        if (this.stopped) return;
        this.lastTakenAt = performance.now();
        this.messages = await consumer.consume({ max_messages: 512 });
        for await (const m of this.messages) {
          if (this.stopped) return;
          attempt = 0;
          this.next = m.seq + 1;
          this.lastTakenAt = performance.now();
          await this.take(m.seq, m.data);
        }
      } catch (err) {
        if (this.stopped) return;
        if (attempt % 10 === 0)
          this.log.warn({ vshard: this.vshard, err: (err as Error).message }, 'cluster: input consumer restarts');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
    }
  }

  /**
   * A consumer can go quiet for good after the stream's leader died (nats-server 2.9: its
   * heartbeats keep coming, its messages do not), and the vshard's input would wait
   * forever. When nothing came for {@link STALL_MS} while not paused, the stream leader is
   * asked for the subject's last sequence; input we have not taken means a stalled
   * consumer, which is closed so that {@link run} makes a new one from where it stopped.
   */
  private async checkStalled(): Promise<void> {
    if (this.stopped || this.checking || this.messages === undefined) return;
    if (this.inFlight >= MAX_IN_FLIGHT / 2 || performance.now() - this.lastTakenAt < STALL_MS) return;
    this.checking = true;
    try {
      const last = await this.jsm.streams
        .getMessage(this.names.inputStream, { last_by_subj: this.names.input(this.vshard) })
        .catch(() => null);
      if (this.stopped || last === null || last.seq < this.next || performance.now() - this.lastTakenAt < STALL_MS)
        return;
      this.log.warn(
        { vshard: this.vshard, next: this.next, last: last.seq },
        'cluster: input consumer stalled; made again',
      );
      const stalled = this.messages;
      this.messages = undefined;
      void stalled.close();
    } finally {
      this.checking = false;
    }
  }

  /**
   * One input message into the shard (and a pause while too many events wait for their
   * commit). Input this vshard can never apply (see {@link refusal}) is refused here, for
   * good: it never reaches the shard, is counted with the failures ({@link noteFailure}),
   * and settles at once, so the low-water mark passes it (once what came before settled)
   * and the vshard neither restarts for it nor stays unsettled behind it.
   */
  private async take(seq: number, data: Uint8Array): Promise<void> {
    let input: DecodedInput;
    try {
      input = decodeInput(data);
    } catch (err) {
      this.refused(seq, err);
      return;
    }
    if (input.k === 'j') this.takeJoin(seq, input);
    else this.takeEvents(seq, input.evs);
    if (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
  }

  /** A child's join value for a parent of this vshard (refused: a parent of another vshard, or of none). */
  private takeJoin(seq: number, input: Extract<DecodedInput, { k: 'j' }>): void {
    const refusal = this.refusal(input.parent);
    if (refusal !== undefined) {
      this.refused(seq, refusal);
      return;
    }
    if (!this.admitJoin(input.child, input.e)) {
      // Sent by an owner of the child's vshard older than one whose joins this vshard took:
      // the newer owner announced the child's values itself. Settled: nothing to apply.
      this.log.debug({ vshard: this.vshard, seq, child: input.child, epoch: input.e }, 'cluster: stale join refused');
      this.settledHere(seq);
      return;
    }
    const updates = new JoinUpdates();
    updates.set(input.lane, input.child, input.value);
    updates.inputSeq = inputPosition(seq, 0);
    updates.mayHold = true; // an announce of a child on another node, possibly
    // Join work has no ticket: a call on the parent right behind it settles once the step
    // holding the join committed (a vshard of sites and orgs gets nothing but joins).
    const joined = { seq, settled: false };
    this.pending.push(joined);
    const ticket = new Ticket(1);
    this.inFlight++;
    void ticket.promise.then(
      () => this.settled(joined, [], 1),
      (err: unknown) => this.settled(joined, [err], 1), // the parent is not here (now): taken again
    );
    this.enqueue(ticket, () => {
      this.shard.enqueue({ kind: 'joins', path: input.parent, updates });
      this.shard.enqueue({ kind: 'call', path: input.parent, fn: settledMark, ticket });
    });
  }

  /**
   * A batch of events: those refused (at decode, or by {@link refusal}) are counted here and
   * the others go to the shard under one ticket, each at its index in the message. A batch
   * refused whole settles here: only a message that went through the shard may settle the
   * joins taken before it (see {@link settled}).
   */
  private takeEvents(seq: number, evs: readonly (TwinEvent | TwinError)[]): void {
    let refused: boolean[] | undefined; // made only when an event is refused (rare)
    let admitted = 0;
    for (let i = 0; i < evs.length; i++) {
      const item = evs[i]!;
      const why = item instanceof TwinError ? item : this.refusal(item.subject);
      if (why === undefined) admitted++;
      else {
        (refused ??= [])[i] = true;
        this.noteFailure(why, seq, i);
      }
    }
    if (admitted === 0) {
      this.settledHere(seq); // nothing here to apply (or an empty message)
      return;
    }
    const entry = { seq, settled: false };
    this.pending.push(entry);
    const ticket = new Ticket(admitted);
    this.inFlight += admitted;
    void ticket.promise.then(
      (t) => this.settled(entry, t.rejected.map(errorOf), admitted),
      (err: unknown) => this.settled(entry, [err], admitted),
    );
    this.enqueue(ticket, () => {
      for (let i = 0; i < evs.length; i++) {
        if (refused?.[i] === true) continue;
        const event = evs[i] as TwinEvent;
        this.shard.enqueue({ kind: 'event', path: event.subject, event, ticket, index: i, seq: inputPosition(seq, i) });
      }
    });
  }

  /**
   * Runs `enqueue`, which hands the shard the items of `ticket` (already counted in flight,
   * its settling already wired): if it throws (the shard closed under a stopping vshard),
   * the ticket fails with that, so the count in flight comes back down and
   * {@link drained} still resolves (a vshard's stop waits for it).
   */
  private enqueue(ticket: Ticket, enqueue: () => void): void {
    try {
      enqueue();
    } catch (err) {
      ticket.fail(err);
    }
  }

  /**
   * Why this vshard can never apply input for the twin at `path`, or undefined: no model
   * routes the path, or its vshard is another one (another writer's bytes, a node with
   * another `--cluster-vshards` or model set). Decided by the rule the fronts publish by
   * (`inputVshardOf`, vshards.ts), from the bytes and this node's models alone, so taking the
   * input again would decide the same: refused for good, never a reason to restart.
   */
  private refusal(path: string): TwinError | undefined {
    let vshard: number;
    try {
      vshard = this.vshardOfInput(path);
    } catch (err) {
      return toTwinError(err, 'TWIN_EVENT_INVALID');
    }
    if (vshard === this.vshard) return undefined;
    return new TwinError(
      'TWIN_EVENT_INVALID',
      `input for ${path} came on the input of vshard ${this.vshard}; its twin is in vshard ${vshard} (a node of another --cluster-vshards or model set in this space?)`,
      { path, vshard },
    );
  }

  /** Input at `seq` refused whole before the shard: counted, and settled here. */
  private refused(seq: number, error: unknown): void {
    this.noteFailure(error, seq);
    this.settledHere(seq);
  }

  /**
   * Input at `seq` that is settled without the shard (refused, or nothing to apply). It
   * settles only itself: the low-water mark passes it once everything before it settled.
   */
  private settledHere(seq: number): void {
    this.pending.push({ seq, settled: true });
    this.advance();
  }

  /**
   * An input not applied: refused here or by its model (the sender had its 202 already),
   * or a passing failure. Counted one by one, and logged at most once per
   * {@link FAILURE_LOG_MS} per vshard with how many there were since the last line, so a
   * flood of bad input cannot flood the log.
   */
  private noteFailure(error: unknown, seq?: number, index?: number): void {
    if (settledForGood(error)) this.shard.stats.inputLog.refused++;
    else this.shard.stats.inputLog.retried++;
    this.failureLog.note({ vshard: this.vshard, seq, index, err: (error as Error)?.message });
  }

  /** Moves the low-water mark over the settled inputs at the head of {@link pending}. */
  private advance(): void {
    const before = this.lowWater;
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.settled)
      this.lowWater = this.pending[this.pendingHead++]!.seq;
    if (this.lowWater > before) this.onSettled();
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /**
   * A message that went through the shard settled, with the errors of its items that
   * failed; `count`: its items counted in flight.
   */
  private settled(entry: { seq: number; settled: boolean }, errors: readonly unknown[], count: number): void {
    if (errors.every(settledForGood)) {
      entry.settled = true;
      // Joins taken before this event were in the inbox ahead of it: settled with it.
      for (let i = this.pendingHead; i < this.pending.length && this.pending[i] !== entry; i++)
        this.pending[i]!.settled = true;
    } else if (!this.stopped) {
      // Not applied, and not for a reason a replay would repeat (the vshard closing or being
      // restored, a commit that failed): the low-water mark stays below it for good, so no
      // commit records it as done, and the vshard restarts from its log to take it again.
      this.onUnsettled(entry.seq);
    }
    this.advance();
    this.inFlight -= count;
    for (const error of errors) this.noteFailure(error, entry.seq);
    if (this.inFlight < MAX_IN_FLIGHT / 2) for (const wake of this.waiting.splice(0)) wake();
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }
}

/**
 * Whether an input that ended with `error` is done with for good, so the restart point may
 * pass it: applied, or refused for what it is, which taking it again would only repeat
 * (decided by the input and the node's models alone): malformed, for a path no model
 * routes, rejected by its model or with no handler for it (the 4xx codes, but 408 and 429,
 * which say "later"), a handler that throws on it (TWIN_TURN_FAILED), state the store cannot
 * take (TWIN_STATE_UNSTORABLE). Everything else is a failure of the moment and the input
 * must be taken again (the vshard restarts from its log): a commit that failed, JetStream
 * unavailable, the node fenced, anything unknown, and TWIN_NOT_OWNER. That one is passing
 * only because input whose twin is in another vshard, or in none, is refused before the
 * shard ({@link InputConsumer} `refusal`): a twin of this vshard is refused a start only
 * while the vshard is not open here (closing, being restored), and a replay applies it.
 * A refusal for good that were taken for passing would restart the vshard forever.
 */
export function settledForGood(error: unknown): boolean {
  if (error === undefined) return true;
  if (!(error instanceof TwinError)) return false;
  if (error.code === 'TWIN_TURN_FAILED' || error.code === 'TWIN_STATE_UNSTORABLE') return true;
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}
