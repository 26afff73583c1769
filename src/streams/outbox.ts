import type { LaneEvent } from '../protocol/lane-events.js';
import { BoundedQueue } from './bounded-queue.js';

/**
 * The pending lane events of one lane of one twin that its consumer (a WARP socket, an
 * async iterator) has not taken yet. Two disciplines, by what the lane's events mean:
 *
 * - {@link StateOutbox} (value, map, join, demand, window lanes): events are states, so a
 *   newer one replaces an older one (per key for keyed lanes). Memory is bounded by the
 *   lane's keys, whatever the update rate.
 * - {@link StreamOutbox} (command and supply lanes): events are happenings, so each one is
 *   delivered; the queue is bounded and drops its oldest when full, counting the drops.
 *
 * @example
 * ```ts
 * const box = outboxFor('command', 256);
 * box.push({ type: 'value', value: true });
 * box.shift(); // { type: 'value', value: true }
 * ```
 */
export interface Outbox {
  /** True for the stream discipline (its `lost` are drops), false for state (its `lost` are conflations). */
  readonly stream: boolean;
  readonly size: number;
  /** Events replaced by newer ones (state) or dropped because the queue was full (stream). */
  readonly lost: number;
  /** True while a stream outbox has dropped events and not yet been emptied (never for state). */
  readonly overflowing: boolean;
  push(event: LaneEvent): void;
  shift(): LaneEvent | undefined;
}

/** A lane kind that carries events rather than state. */
export function isStreamKind(kind: string | undefined): boolean {
  return kind === 'command' || kind === 'supply';
}

/**
 * The outbox for a lane of `kind` (undefined: unknown, treated as state).
 *
 * @example
 * ```ts
 * outboxFor('value', 256) instanceof StateOutbox; // true
 * ```
 */
export function outboxFor(kind: string | undefined, streamLimit: number): StateOutbox | StreamOutbox {
  return isStreamKind(kind) ? new StreamOutbox(streamLimit) : new StateOutbox();
}

/**
 * Latest state per slot. A value lane uses one field (no map, no allocation per event: the
 * fan-out path runs this once per subscriber per change); keyed lanes keep the latest
 * event per key in first-seen order (an `update` and a `remove` of one key share its slot);
 * a pending `clear` goes first and drops what came before it. A lane emits either value
 * events or keyed ones, never both. Draining it and applying what comes out to the state
 * the consumer had gives the same state as applying every event pushed.
 *
 * @example
 * ```ts
 * const s = new StateOutbox();
 * s.push({ type: 'value', value: 1 }); s.push({ type: 'value', value: 2 });
 * s.size; s.lost; s.shift(); // 1, 1, { type: 'value', value: 2 }
 * ```
 */
export class StateOutbox implements Outbox {
  lost = 0;
  private value: LaneEvent | null = null;
  private clear: LaneEvent | null = null;
  private keyed: Map<string, LaneEvent> | null = null;

  // Getters, not fields: one outbox per subscriber per twin, so every field counts.
  get stream(): boolean {
    return false;
  }

  get overflowing(): boolean {
    return false;
  }

  get size(): number {
    return (this.value ? 1 : 0) + (this.clear ? 1 : 0) + (this.keyed?.size ?? 0);
  }

  push(event: LaneEvent): void {
    switch (event.type) {
      case 'value':
        if (this.value) this.lost++;
        this.value = event;
        return;
      case 'clear':
        this.lost += this.size;
        this.keyed?.clear();
        this.value = null;
        this.clear = event;
        return;
      default: {
        const keyed = (this.keyed ??= new Map());
        if (keyed.has(event.key)) this.lost++;
        keyed.set(event.key, event);
      }
    }
  }

  shift(): LaneEvent | undefined {
    if (this.clear) {
      const c = this.clear;
      this.clear = null;
      return c;
    }
    if (this.value) {
      const v = this.value;
      this.value = null;
      return v;
    }
    if (!this.keyed || this.keyed.size === 0) return undefined;
    const first = this.keyed.entries().next().value!;
    this.keyed.delete(first[0]);
    return first[1];
  }
}

/**
 * Every event, in order, at most `limit` of them: a {@link BoundedQueue} of lane events.
 * `overflowing` stays set from the first drop until the queue has been emptied: the
 * link's visible slow-consumer state (`twinflow_warp_overflowing_links`).
 *
 * @example
 * ```ts
 * const q = new StreamOutbox(2);
 * for (const v of [1, 2, 3]) q.push({ type: 'value', value: v });
 * q.lost; q.overflowing; q.shift(); // 1, true, { type: 'value', value: 2 }
 * ```
 */
export class StreamOutbox extends BoundedQueue<LaneEvent> implements Outbox {
  get stream(): boolean {
    return true;
  }
}
