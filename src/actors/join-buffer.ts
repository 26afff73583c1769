/**
 * Join updates of one parent waiting for the end of the step: the latest value per
 * (join lane, child), in the order the pairs were first touched until the parent's
 * join turn puts them in canonical order. Parallel arrays rather
 * than maps of maps: a room collects a handful of updates per step, and this runs for
 * every change that reaches a parent. A parent with many children switches to an index.
 */
export class JoinUpdates {
  readonly lanes: string[] = [];
  readonly children: string[] = [];
  readonly values: unknown[] = [];
  /** Cluster mode: the input-stream sequence of the join it carries, read from a vshard's input (0: none). */
  inputSeq = 0;
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

  /**
   * Puts the pairs in (child, join lane) order. A parent then applies its batch in the
   * same order however the updates arrived (from this shard's turns or as messages from
   * other shards, whose order depends on the worker count), so aggregates built with
   * floating-point arithmetic, where (a + b) + c may differ from (a + c) + b, come out
   * bit-identical at any worker count. Batches are small and usually in order already.
   */
  canonicalize(): void {
    const n = this.children.length;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (this.compare(i - 1, i) > 0) sorted = false;
    if (sorted) return;
    this.index = null; // positions move; a taken batch gets no further updates anyway
    if (n <= INDEX_FROM) {
      this.insertionSort(); // in place: no allocation for the common small batch
      return;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.compare(a, b));
    const lanes = order.map((i) => this.lanes[i]!);
    const children = order.map((i) => this.children[i]!);
    const values = order.map((i) => this.values[i]);
    for (let i = 0; i < n; i++) {
      this.lanes[i] = lanes[i]!;
      this.children[i] = children[i]!;
      this.values[i] = values[i];
    }
  }

  private insertionSort(): void {
    const { lanes, children, values } = this;
    for (let i = 1; i < children.length; i++) {
      const lane = lanes[i]!;
      const child = children[i]!;
      const value = values[i];
      let j = i - 1;
      for (; j >= 0 && (children[j]! > child || (children[j] === child && lanes[j]! > lane)); j--) {
        lanes[j + 1] = lanes[j]!;
        children[j + 1] = children[j]!;
        values[j + 1] = values[j];
      }
      lanes[j + 1] = lane;
      children[j + 1] = child;
      values[j + 1] = value;
    }
  }

  private compare(a: number, b: number): number {
    const ca = this.children[a]!;
    const cb = this.children[b]!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    const la = this.lanes[a]!;
    const lb = this.lanes[b]!;
    return la === lb ? 0 : la < lb ? -1 : 1;
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
