import { MapLane } from './map-lane.js';

/**
 * The latest value of one lane of each linked twin, keyed by the linked twin's path.
 * Children link themselves when they start (they announce to their parent); the runtime
 * feeds their changes in with {@link JoinLane.accept}. A join keeps the last known value
 * of a child that stopped; `remove(path)` drops a link for good.
 *
 * @example
 * ```ts
 * // in a floor model: rooms: join<number | null>({ from: 'room', lane: 'temperature' })
 * for (const [roomPath, t] of ctx.lanes.rooms) console.log(roomPath, t);
 * ```
 */
export class JoinLane<V> extends MapLane<V> {
  override get kind(): 'join' {
    return 'join';
  }

  /** Applies a linked twin's new value (called by the runtime, not by models). */
  accept(path: string, value: V): boolean {
    return this.update(path, value);
  }

  /** True when {@link accept} of this value would change nothing (the entry is there and equal). */
  holds(path: string, value: V): boolean {
    return this.entries.has(path) && this.equalsFn(this.entries.get(path) as V, value);
  }
}
