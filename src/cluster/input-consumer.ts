import type { ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import { JoinUpdates } from '../actors/join-buffer.js';
import type { Shard } from '../actors/shard.js';
import { Ticket } from '../actors/work.js';
import type { TwinLogger } from '../model/twin-model.js';
import { decodeInput } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

/** The no-op a join's settle mark runs on its parent. */
const settledMark = (): undefined => undefined;

/** Events of one vshard in the shard's inbox and not yet committed, at most (then reading pauses). */
const MAX_IN_FLIGHT = 2_048;

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
    private readonly names: SpaceNames,
    private readonly vshard: number,
    after: number,
    private readonly shard: Shard,
    private readonly log: TwinLogger,
    /** Told when {@link lowWater} moved. */
    private readonly onSettled: () => void = () => undefined,
  ) {
    this.lowWater = after;
    this.done = this.run(after);
  }

  /** Resolves once every event it enqueued has committed or failed. */
  async drained(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  /** Stops reading; what is in the inbox still commits. */
  stop(): void {
    this.stopped = true;
    void this.messages?.close();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Reads until stopped. A consumer that cannot be made or that ends (a JetStream leader
   * election, a server gone) is made again from just after the last message taken: what
   * was taken is in the inbox and commits, or breaks the vshard, which then restarts from
   * its log with a new consumer.
   */
  private async run(after: number): Promise<void> {
    let next = after + 1;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const consumer = await this.js.consumers.get(this.names.inputStream, {
          filter_subjects: this.names.input(this.vshard),
          ...(next > 1 ? { deliver_policy: 'by_start_sequence' as never, opt_start_seq: next } : {}),
        });
        if (this.stopped) return;
        this.messages = await consumer.consume({ max_messages: 512 });
        for await (const m of this.messages) {
          if (this.stopped) return;
          attempt = 0;
          next = m.seq + 1;
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
      const updates = new JoinUpdates();
      updates.set(input.lane, input.child, input.value);
      updates.inputSeq = seq;
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
        () => this.settled(joined, undefined), // not applied here (the vshard moved): the next owner replays it
      );
      return;
    }
    const ticket = new Ticket(1);
    this.inFlight++;
    const entry = { seq, settled: false };
    this.pending.push(entry);
    this.shard.enqueue({ kind: 'event', path: input.ev.subject, event: input.ev, ticket, index: 0, seq });
    void ticket.promise.then(
      (t) => this.settled(entry, t.rejected[0]?.error),
      (err: unknown) => this.settled(entry, err),
    );
    if (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
  }

  private settled(entry: { seq: number; settled: boolean }, error: unknown): void {
    entry.settled = true;
    // Joins taken before this event were in the inbox ahead of it: settled with it.
    for (let i = this.pendingHead; i < this.pending.length && this.pending[i] !== entry; i++)
      this.pending[i]!.settled = true;
    const before = this.lowWater;
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.settled)
      this.lowWater = this.pending[this.pendingHead++]!.seq;
    if (this.lowWater > before) this.onSettled();
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    this.inFlight--;
    if (error !== undefined)
      this.log.warn({ vshard: this.vshard, err: (error as Error).message }, 'cluster: an input event was not applied');
    if (this.inFlight < MAX_IN_FLIGHT / 2) for (const wake of this.waiting.splice(0)) wake();
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }
}
