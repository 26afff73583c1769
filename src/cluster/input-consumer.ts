import type { ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import { JoinUpdates } from '../actors/join-buffer.js';
import type { Shard } from '../actors/shard.js';
import { Ticket } from '../actors/work.js';
import type { TwinLogger } from '../model/twin-model.js';
import { decodeInput } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

/** Events of one vshard in the shard's inbox and not yet committed, at most (then reading pauses). */
const MAX_IN_FLIGHT = 2_048;

/**
 * Feeds one owned vshard's input stream into the shard, in stream order, from just after
 * the sequence its state includes: events as event work carrying their sequence (the twin
 * stores the highest it applied), join values from other vshards as join work in the same
 * inbox, so both commit in order. At most {@link MAX_IN_FLIGHT} events wait for their
 * commit; past that it stops reading until they commit (JetStream holds the rest).
 */
export class InputConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  /** Resolves when the loop ended (after {@link stop}). */
  readonly done: Promise<void>;

  constructor(
    private readonly js: JetStreamClient,
    private readonly names: SpaceNames,
    private readonly vshard: number,
    after: number,
    private readonly shard: Shard,
    private readonly log: TwinLogger,
  ) {
    this.done = this.run(after).catch((err: Error) => {
      if (!this.stopped) this.log.error({ vshard, err: err.message }, 'cluster: input consumer failed');
    });
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

  private async run(after: number): Promise<void> {
    const consumer = await this.js.consumers.get(this.names.inputStream, {
      filter_subjects: this.names.input(this.vshard),
      ...(after > 0 ? { deliver_policy: 'by_start_sequence' as never, opt_start_seq: after + 1 } : {}),
    });
    if (this.stopped) return;
    this.messages = await consumer.consume({ max_messages: 512 });
    for await (const m of this.messages) {
      if (this.stopped) break;
      let input;
      try {
        input = decodeInput(m.data);
      } catch (err) {
        this.log.warn(
          { vshard: this.vshard, seq: m.seq, err: (err as Error).message },
          'cluster: input message skipped',
        );
        continue;
      }
      if (input.k === 'j') {
        const updates = new JoinUpdates();
        updates.set(input.lane, input.child, input.value);
        updates.inputSeq = m.seq;
        this.shard.enqueue({ kind: 'joins', path: input.parent, updates });
        continue;
      }
      const ticket = new Ticket(1);
      this.inFlight++;
      this.shard.enqueue({ kind: 'event', path: input.ev.subject, event: input.ev, ticket, index: 0, seq: m.seq });
      void ticket.promise.then(
        (t) => this.settled(t.rejected[0]?.error),
        (err: unknown) => this.settled(err),
      );
      if (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  private settled(error: unknown): void {
    this.inFlight--;
    if (error !== undefined)
      this.log.warn({ vshard: this.vshard, err: (error as Error).message }, 'cluster: an input event was not applied');
    if (this.inFlight < MAX_IN_FLIGHT / 2) for (const wake of this.waiting.splice(0)) wake();
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }
}
