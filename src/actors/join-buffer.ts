import type { JoinUpdates } from './work.js';

/**
 * Join updates waiting for the end of the current step, coalesced to the latest value
 * per (parent, join lane, child). A burst of readings in one subtree becomes one turn per
 * parent per step, which is what keeps aggregation cheap on the hot path.
 */
export class JoinBuffer {
  private pending = new Map<string, JoinUpdates>();

  get size(): number {
    return this.pending.size;
  }

  add(parent: string, joinLane: string, child: string, value: unknown): void {
    let lanes = this.pending.get(parent);
    if (!lanes) this.pending.set(parent, (lanes = new Map()));
    let children = lanes.get(joinLane);
    if (!children) lanes.set(joinLane, (children = new Map()));
    children.set(child, value);
  }

  /** Takes everything pending (parents in the order they were first touched). */
  take(): Map<string, JoinUpdates> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}
