/**
 * Join updates of one parent waiting for the end of the step: the latest value per
 * (join lane, child), in the order the pairs were first touched. Parallel arrays rather
 * than maps of maps: a room collects a handful of updates per step, and this runs for
 * every change that reaches a parent. A parent with many children switches to an index.
 */
export class JoinUpdates {
  readonly lanes: string[] = [];
  readonly children: string[] = [];
  readonly values: unknown[] = [];
  /** `lane ␟ child` → position; built once a parent has more pending pairs than a scan should visit. */
  private index: Map<string, number> | null = null;

  get length(): number {
    return this.children.length;
  }

  set(lane: string, child: string, value: unknown): void {
    const n = this.children.length;
    if (this.index) {
      const key = lane + '\u001f' + child;
      const at = this.index.get(key);
      if (at !== undefined) this.values[at] = value;
      else this.append(lane, child, value, key);
      return;
    }
    for (let i = 0; i < n; i++) {
      if (this.children[i] === child && this.lanes[i] === lane) {
        this.values[i] = value;
        return;
      }
    }
    if (n >= INDEX_FROM) {
      this.index = new Map();
      for (let i = 0; i < n; i++) this.index.set(this.lanes[i] + '\u001f' + this.children[i], i);
      this.append(lane, child, value, lane + '\u001f' + child);
      return;
    }
    this.append(lane, child, value, undefined);
  }

  private append(lane: string, child: string, value: unknown, key: string | undefined): void {
    if (key !== undefined) this.index!.set(key, this.children.length);
    this.lanes.push(lane);
    this.children.push(child);
    this.values.push(value);
  }
}

const INDEX_FROM = 32;

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
    let updates = this.pending.get(parent);
    if (!updates) this.pending.set(parent, (updates = new JoinUpdates()));
    updates.set(joinLane, child, value);
  }

  /** Takes everything pending (parents in the order they were first touched). */
  take(): Map<string, JoinUpdates> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}
