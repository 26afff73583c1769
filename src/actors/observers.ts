import type { LaneEvent, LaneObserver } from '../lanes/index.js';

/**
 * Who observes which lane of which twin on this shard: API links, WebSocket uplinks.
 * Kept by path, not on the twin, so a link outlives the twin's passivation. One event
 * object is built per change and shared by every observer of the lane.
 */
export class ObserverRegistry {
  private readonly byPath = new Map<string, Map<string, Set<LaneObserver>>>();
  /** Total observers; lets the hot path skip the lookup when nobody observes anything. */
  size = 0;
  /** Observers that threw (they are dropped). */
  failures = 0;

  forPath(path: string): Map<string, Set<LaneObserver>> | undefined {
    return this.byPath.get(path);
  }

  add(path: string, lane: string, observer: LaneObserver): void {
    let lanes = this.byPath.get(path);
    if (!lanes) this.byPath.set(path, (lanes = new Map()));
    let set = lanes.get(lane);
    if (!set) lanes.set(lane, (set = new Set()));
    if (!set.has(observer)) {
      set.add(observer);
      this.size++;
    }
  }

  remove(path: string, lane: string, observer: LaneObserver): boolean {
    const lanes = this.byPath.get(path);
    const set = lanes?.get(lane);
    if (!set?.delete(observer)) return false;
    this.size--;
    if (set.size === 0) lanes!.delete(lane);
    if (lanes!.size === 0) this.byPath.delete(path);
    return true;
  }

  deliver(observers: Set<LaneObserver>, event: LaneEvent): void {
    for (const o of observers) {
      try {
        o.onEvent(event);
      } catch {
        // An observer must never break a twin's commit; a throwing one is unlinked.
        this.failures++;
        observers.delete(o);
        this.size--;
      }
    }
  }
}
