import type { TwinEvent } from '../model/twin-model.js';
import type { Ticket, Work } from './work.js';

/** Marks a slot holding a {@link Work} item rather than an event (events have an index ≥ 0). */
const WORK = -1;

/** What runs the items taken from the inbox. */
export interface InboxConsumer {
  process(work: Work): void;
  /** An event queued with {@link Inbox.pushEvent}: item `index` of `ticket`'s batch. */
  processEvent(event: TwinEvent, ticket: Ticket | null, index: number): void;
}

/**
 * A shard's queue of work, in arrival order. Events, most of what arrives, are queued as
 * they are, with their ticket and batch index in parallel slots, not wrapped in a
 * {@link Work} item each; other work is queued as its item. The slots are reused step
 * after step (taken slots are cleared, the arrays keep their capacity): a fresh queue per
 * step and an item per event cost ~60 B per event.
 */
export class Inbox {
  private readonly items: (Work | TwinEvent | undefined)[] = [];
  private readonly tickets: (Ticket | null)[] = [];
  /** The event's index in its ticket's batch, or {@link WORK}. */
  private readonly indices: number[] = [];
  private head = 0;
  private tail = 0;

  /** Items waiting. */
  get size(): number {
    return this.tail - this.head;
  }

  push(work: Work): void {
    this.put(work, null, WORK);
  }

  pushEvent(event: TwinEvent, ticket: Ticket | null, index: number): void {
    this.put(event, ticket, index);
  }

  /** Queues `work` ahead of everything waiting, in its order (work that waited for its twin's state). */
  pushFront(work: readonly Work[]): void {
    const n = work.length;
    if (n === 0) return;
    if (this.head >= n) {
      // Into the taken slots just before the head.
      this.head -= n;
      for (let i = 0; i < n; i++) {
        this.items[this.head + i] = work[i];
        this.tickets[this.head + i] = null;
        this.indices[this.head + i] = WORK;
      }
      return;
    }
    const head = this.head;
    this.items.splice(head, 0, ...work);
    this.tickets.splice(head, 0, ...new Array<Ticket | null>(n).fill(null));
    this.indices.splice(head, 0, ...new Array<number>(n).fill(WORK));
    this.tail += n;
    // The slots past the tail (taken, cleared) moved up too: drop them, so the arrays do not grow by n each time.
    this.items.length = this.tickets.length = this.indices.length = this.tail;
  }

  /** Takes the next item (the inbox must not be empty) and hands it to `consumer`. */
  runNext(consumer: InboxConsumer): void {
    const at = this.head++;
    const item = this.items[at]!;
    const ticket = this.tickets[at]!;
    const index = this.indices[at]!;
    this.items[at] = undefined;
    this.tickets[at] = null;
    // Emptied: start over at slot 0 (work the item queues, a command to a twin here, lands there).
    if (this.head === this.tail) this.head = this.tail = 0;
    if (index === WORK) consumer.process(item as Work);
    else consumer.processEvent(item as TwinEvent, ticket, index);
  }

  private put(item: Work | TwinEvent, ticket: Ticket | null, index: number): void {
    const at = this.tail++;
    this.items[at] = item;
    this.tickets[at] = ticket;
    this.indices[at] = index;
  }
}
