import type { StoredTwin } from '../store/state-store.js';
import { isUnder, storedInline } from './inline-entries.js';
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
  /**
   * True once a key that is no path under this twin's was set (a model may `update` a join
   * with any key): from then on the record holds its keys as they are, not relative.
   */
  private foreign = false;

  override get kind(): 'join' {
    return 'join';
  }

  /**
   * Applies a linked twin's new value (called by the runtime, not by models). `path` is a
   * child's, so under this twin's path: the catalog cuts a parent's path out of its child's,
   * and Shard.acceptRemoteJoin drops remote updates that say otherwise. So no check here,
   * on the path every join update takes.
   */
  accept(path: string, value: V): boolean {
    return super.update(path, value);
  }

  /** A model's own update of the join: any key, so a key that is no child path is noted. */
  override update(key: string, value: V): boolean {
    if (!this.foreign && typeof key === 'string' && !isUnder(key, this.host.path)) this.foreign = true;
    return super.update(key, value);
  }

  /**
   * A join's keys are its children's paths: where a child is live, its own path string is
   * the key, so a restored parent holds no second copy of each child's path (a copy the
   * store cut out of a longer key would also keep that whole key alive).
   */
  override restore(stored: StoredTwin, _from?: number, _to?: number, shared?: SharedPaths): void {
    const inline = storedInline(stored, this.name);
    if (inline && inline[0] !== 1 && inline.length > 1) this.foreign = true;
    const m = stored.entries.get(this.name);
    if (m && !this.foreign)
      for (const key of m.keys())
        if (!isUnder(key, this.host.path)) {
          this.foreign = true;
          break;
        }
    this.restoreEntries(stored, shared ? (k) => shared(k) ?? k : undefined);
  }

  /** Children's paths are stored in the record without the twin's own path (see inline-entries.ts). */
  protected override relativeTo(): string | null {
    return this.foreign ? null : this.host.path;
  }

  /** True when {@link accept} of this value would change nothing (the entry is there and equal). */
  holds(path: string, value: V): boolean {
    return this.entries.has(path) && this.equalsFn(this.entries.get(path) as V, value);
  }
}
