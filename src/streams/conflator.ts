import type { LaneEvent } from '../protocol/lane-events.js';

const VALUE_SLOT = '\u0000value';
const CLEAR_SLOT = '\u0000clear';

/**
 * A subscriber's pending events, bounded by construction. State lanes conflate: a value
 * lane keeps only its latest value, a keyed lane the latest event per key, and a `clear`
 * drops everything pending before it. So a slow subscriber skips intermediate states but
 * always converges on the current one, and memory is bounded by the number of keys, not
 * by the update rate. Stream lanes (command, supply) keep a FIFO of at most `limit`
 * events and drop the oldest, counting what they dropped.
 *
 * @example
 * ```ts
 * const c = new Conflator('state');
 * c.push({ type: 'value', value: 1 }); c.push({ type: 'value', value: 2 });
 * c.take(); // [{ type: 'value', value: 2 }]
 * ```
 */
export class Conflator {
  private readonly slots = new Map<string, LaneEvent>();
  private stream: LaneEvent[] = [];
  /** Events replaced or dropped before delivery. */
  conflated = 0;

  constructor(readonly mode: 'state' | 'stream', readonly limit = 1024) {}

  get size(): number {
    return this.mode === 'state' ? this.slots.size : this.stream.length;
  }

  push(event: LaneEvent): void {
    if (this.mode === 'stream') {
      if (this.stream.length >= this.limit) {
        this.stream.shift();
        this.conflated++;
      }
      this.stream.push(event);
      return;
    }
    switch (event.type) {
      case 'value':
        this.put(VALUE_SLOT, event);
        break;
      case 'clear':
        this.conflated += this.slots.size;
        this.slots.clear();
        this.slots.set(CLEAR_SLOT, event);
        break;
      default:
        this.put(event.key, event);
    }
  }

  /** Removes and returns everything pending, in delivery order. */
  take(): LaneEvent[] {
    if (this.mode === 'stream') {
      const out = this.stream;
      this.stream = [];
      return out;
    }
    const out = [...this.slots.values()];
    this.slots.clear();
    return out;
  }

  /** Removes and returns the next pending event, if any. */
  shift(): LaneEvent | undefined {
    if (this.mode === 'stream') return this.stream.shift();
    const first = this.slots.entries().next();
    if (first.done) return undefined;
    this.slots.delete(first.value[0]);
    return first.value[1];
  }

  private put(slot: string, event: LaneEvent): void {
    if (this.slots.has(slot)) this.conflated++;
    this.slots.set(slot, event);
  }
}
