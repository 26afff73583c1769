import type { ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JoinUpdates } from '../actors/join-buffer.js';
import { TwinError } from '../errors.js';
import { ThrottledWarning } from '../logger.js';
import type { Shard } from '../actors/shard.js';
import { Ticket } from '../actors/work.js';
import type { TwinLogger } from '../model/twin-model.js';
import { decodeInput, inputPosition } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

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
    for (let attempt = 0; !this.stopped; attempt++) {
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

  /** One input message into the shard (and a pause while too many events wait for their commit). */
  private async take(seq: number, data: Uint8Array): Promise<void> {
    let input;
    try {
      input = decodeInput(data);
    } catch (err) {
      this.log.warn({ vshard: this.vshard, seq, err: (err as Error).message }, 'cluster: input message skipped');
      return;
    }
    if (input.k === 'j') {
      if (!this.admitJoin(input.child, input.e)) {
        // Sent by an owner of the child's vshard older than one whose joins this vshard took:
        // the newer owner announced the child's values itself. Settled: nothing to apply.
        this.log.debug({ vshard: this.vshard, seq, child: input.child, epoch: input.e }, 'cluster: stale join refused');
        this.pending.push({ seq, settled: true });
        this.advance();
        return;
      }
      const updates = new JoinUpdates();
      updates.set(input.lane, input.child, input.value);
      updates.inputSeq = inputPosition(seq, 0);
      updates.mayHold = true; // an announce of a child on another node, possibly
      this.shard.enqueue({ kind: 'joins', path: input.parent, updates });
      // Join work has no ticket: a call on the parent right behind it settles once the step
      // holding the join committed (a vshard of sites and orgs gets nothing but joins).
      const joined = { seq, settled: false };
      this.pending.push(joined);
      const ticket = new Ticket(1);
      this.inFlight++;
      this.shard.enqueue({ kind: 'call', path: input.parent, fn: settledMark, ticket });
      void ticket.promise.then(
        () => this.settled(joined, undefined),
        (err: unknown) => this.settled(joined, err), // the parent is not here (now): taken again
      );
      return;
    }
    const count = input.evs.length;
    if (count === 0) return;
    const ticket = new Ticket(count);
    this.inFlight += count;
    const entry = { seq, settled: false };
    this.pending.push(entry);
    for (let i = 0; i < count; i++) {
      const event = input.evs[i]!;
      this.shard.enqueue({ kind: 'event', path: event.subject, event, ticket, index: i, seq: inputPosition(seq, i) });
    }
    void ticket.promise.then(
      (t) => this.settled(entry, worstError(t.rejected.map((r) => r.error)), count),
      (err: unknown) => this.settled(entry, err, count),
    );
    if (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
  }

  /**
   * An input not applied: refused by its model (the sender had its 202 already), or a
   * passing failure. Logged at most once per {@link FAILURE_LOG_MS} per vshard, with how
   * many there were since the last line, so a flood of bad events cannot flood the log.
   */
  private noteFailure(error: unknown): void {
    this.failureLog.note({ vshard: this.vshard, err: (error as Error)?.message });
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

  /** `count`: the events of the message (each counted in flight). */
  private settled(entry: { seq: number; settled: boolean }, error: unknown, count = 1): void {
    if (settledForGood(error)) {
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
    if (error !== undefined) this.noteFailure(error);
    if (this.inFlight < MAX_IN_FLIGHT / 2) for (const wake of this.waiting.splice(0)) wake();
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }
}

/** Of a message's failed events, the one that decides (a passing failure over refusals for good). */
function worstError(errors: readonly unknown[]): unknown {
  return errors.find((e) => !settledForGood(e)) ?? errors[0];
}

/**
 * Whether an input that ended with `error` is done with for good: applied, or refused for
 * what it is (malformed, rejected by its model, a handler that throws on it), which a
 * replay would only repeat. Failures of the moment (this node not owning the twin now, a
 * commit that failed, JetStream unavailable, anything unknown) are not: the input must be
 * taken again, so the restart point must not pass it.
 */
export function settledForGood(error: unknown): boolean {
  if (error === undefined) return true;
  if (!(error instanceof TwinError)) return false;
  if (error.code === 'TWIN_TURN_FAILED' || error.code === 'TWIN_STATE_UNSTORABLE') return true;
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}
