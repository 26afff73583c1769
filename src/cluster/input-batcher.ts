import type { JetStreamClient } from '@nats-io/jetstream';
import type { Ticket } from '../actors/work.js';
import { TwinError } from '../errors.js';
import type { TwinEvent } from '../model/twin-model.js';
import { MAX_EVENTS_PER_MESSAGE, encodeInput } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

/** Largest input message we publish (nats-server's default max_payload is 1 MiB). */
const MAX_MESSAGE_BYTES = 512 * 1024;

interface Batch {
  readonly events: TwinEvent[];
  readonly waiting: { ticket: Ticket; index: number }[];
}

/**
 * The front's side of durable ingest: events taken in one event-loop turn (an HTTP batch,
 * MQTT messages that arrived together) are grouped per vshard and published as one
 * JetStream message each, in arrival order; each event's ticket item finishes once
 * JetStream stored its message (or with the reason it did not). One message per event
 * capped a node at about 12 k events/s; a message per vshard and turn carries up to
 * {@link MAX_EVENTS_PER_MESSAGE} events and {@link MAX_MESSAGE_BYTES}. The message id is unique per
 * message (a hash of the events could collide and drop a batch as a duplicate): a device's
 * resend is caught by its twin's dedupe window, as on a single node.
 */
export class InputBatcher {
  private readonly batches = new Map<number, Batch>();
  private scheduled = false;
  private seq = 0;

  constructor(
    /** Unique to this process (node id and start time): message ids never repeat within the dedupe window. */
    private readonly prefix: string,
    private readonly js: () => JetStreamClient,
    private readonly names: () => SpaceNames,
    private readonly ready: Promise<void>,
  ) {}

  add(vshard: number, event: TwinEvent, ticket: Ticket, index: number): void {
    let batch = this.batches.get(vshard);
    if (batch !== undefined && batch.events.length >= MAX_EVENTS_PER_MESSAGE) {
      this.batches.delete(vshard);
      this.publish(vshard, batch);
      batch = undefined;
    }
    if (batch === undefined) this.batches.set(vshard, (batch = { events: [], waiting: [] }));
    batch.events.push(event);
    batch.waiting.push({ ticket, index });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.batches];
    this.batches.clear();
    for (const [vshard, batch] of batches) this.publish(vshard, batch);
  }

  /**
   * Encodes the batch once; one too large for a message (rare: events are small, and each
   * is bounded by the fronts) is halved until each part fits, so no event is measured alone.
   */
  private publish(vshard: number, batch: Batch): void {
    const data = encodeInput({ k: 'b', evs: batch.events });
    if (data.length > MAX_MESSAGE_BYTES && batch.events.length > 1) {
      const half = batch.events.length >> 1;
      this.publish(vshard, { events: batch.events.slice(0, half), waiting: batch.waiting.slice(0, half) });
      this.publish(vshard, { events: batch.events.slice(half), waiting: batch.waiting.slice(half) });
      return;
    }
    const msgID = `b${this.prefix}.${++this.seq}`;
    this.ready
      .then(() => this.js().publish(this.names().input(vshard), data, { msgID }))
      .then(
        () => finishAll(batch),
        (err: Error) =>
          finishAll(
            batch,
            err instanceof TwinError
              ? err
              : new TwinError('TWIN_CLUSTER_UNAVAILABLE', `JetStream did not take the event: ${err.message}`),
          ),
      );
  }
}

function finishAll(batch: Batch, error?: TwinError): void {
  for (const { ticket, index } of batch.waiting) {
    ticket.done(index, error);
    if (ticket.complete) ticket.resolve();
  }
}
