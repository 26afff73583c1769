import type { StoredTwin } from '../store/state-store.js';
import type { SharedPaths } from './lane.js';
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

  /**
   * A join's keys are its children's paths: where a child is live, its own path string is
   * the key, so a restored parent holds no second copy of each child's path (a copy the
   * store cut out of a longer key would also keep that whole key alive).
   */
  override restore(stored: StoredTwin, _from?: number, _to?: number, shared?: SharedPaths): void {
    this.restoreEntries(stored, shared ? (k) => shared(k) ?? k : undefined);
  }

  /** Children's paths are stored in the record without the twin's own path (see inline-entries.ts). */
  protected override relativeTo(): string | null {
    return this.host.path;
  }

  /** True when {@link accept} of this value would change nothing (the entry is there and equal). */
  holds(path: string, value: V): boolean {
    return this.entries.has(path) && this.equalsFn(this.entries.get(path) as V, value);
  }
}
