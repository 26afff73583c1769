import { TwinError } from '../errors.js';

/** Slots a queue starts with; it doubles up to its limit as it fills. */
const INITIAL_SLOTS = 8;

/**
 * A FIFO of at most `limit` items that, when full, drops its oldest to make room and
 * counts the drop: for happenings (commands, supply events, a client's iteration buffer)
 * where each item matters but a reader that falls this far behind must not grow memory
 * without bound. A ring, so dropping and shifting are O(1); it starts small and doubles up
 * to `limit`, so an idle queue with a large limit costs a few slots, not `limit` of them.
 *
 * `overflowing` is set by the first drop and stays set until the queue has been emptied:
 * the visible "slow consumer" state of whoever owns the queue.
 *
 * @example
 * ```ts
 * const q = new BoundedQueue<number>(2);
 * q.push(1); q.push(2); q.push(3);
 * q.lost; q.overflowing; q.shift(); // 1, true, 2
 * ```
 */
export class BoundedQueue<T> {
  /** Items dropped because the queue was full. */
  lost = 0;
  overflowing = false;
  private ring: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1))
      throw new TwinError('TWIN_CONFIG_INVALID', `a bounded queue holds at least one item (limit ${limit})`, { limit });
    this.ring = new Array(Math.min(limit, INITIAL_SLOTS));
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.ring.length) {
      if (this.ring.length < this.limit) {
        this.grow();
      } else {
        // Full: the oldest item gives way (bounded memory beats completeness for a reader this slow).
        this.ring[this.head] = undefined;
        this.head = (this.head + 1) % this.ring.length;
        this.count--;
        this.lost++;
        this.overflowing = true;
      }
    }
    this.ring[(this.head + this.count) % this.ring.length] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    if (--this.count === 0) this.overflowing = false;
    return item;
  }

  /** Drops everything pending (not counted as lost: nobody is waiting for it any more). */
  clear(): void {
    this.ring = new Array(Math.min(this.limit, INITIAL_SLOTS));
    this.head = 0;
    this.count = 0;
    this.overflowing = false;
  }

  private grow(): void {
    const old = this.ring;
    const next = new Array<T | undefined>(Math.min(this.limit, old.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length];
    this.ring = next;
    this.head = 0;
  }
}
