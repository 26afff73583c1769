/**
 * Join updates of one parent waiting for the end of the step: the latest value per
 * (join lane, child), in the order the pairs were first touched until the parent's
 * join turn puts them in canonical order. Parallel arrays rather
 * than maps of maps: a room collects a handful of updates per step, and this runs for
 * every change that reaches a parent. A parent with many children switches to an index.
 */
export class JoinUpdates {
  // Parallel arrays used up to `count`, kept with their capacity when the batch is reused
  // (see JoinBuffer.recycle): setting an array's length to 0 would drop its storage.
  private readonly laneOf: string[] = [];
  private readonly childOf: string[] = [];
  private readonly valueOf: unknown[] = [];
  private count = 0;
  /** Cluster mode: the input-stream sequence of the join it carries, read from a vshard's input (0: none). */
  inputSeq = 0;
  /**
   * Some update may be what the parent holds already: it came from a child's announce (a
   * restored child sends the value its restored parent has) or from another shard. A batch
   * filled only by local commits (values that changed) skips the parent's check for that.
   */
  mayHold = false;
  /** `lane ␟ child` → position; built once a parent has more pending pairs than a scan should visit. */
  private index: Map<string, number> | null = null;

  get length(): number {
    return this.count;
  }

  /** The join lane of pair `i` (0 ≤ i < length). */
  lane(i: number): string {
    return this.laneOf[i]!;
  }

  /** The child path of pair `i`. */
  child(i: number): string {
    return this.childOf[i]!;
  }

  /** The child's latest value of pair `i`. */
  value(i: number): unknown {
    return this.valueOf[i];
  }

  set(lane: string, child: string, value: unknown): void {
    const n = this.count;
    if (this.index) {
      const key = lane + '\u001f' + child;
      const at = this.index.get(key);
      if (at !== undefined) this.valueOf[at] = value;
      else this.append(lane, child, value, key);
      return;
    }
    for (let i = 0; i < n; i++) {
      if (this.childOf[i] === child && this.laneOf[i] === lane) {
        this.valueOf[i] = value;
        return;
      }
    }
    if (n >= INDEX_FROM) {
      this.index = new Map();
      for (let i = 0; i < n; i++) this.index.set(this.laneOf[i] + '\u001f' + this.childOf[i], i);
      this.append(lane, child, value, lane + '\u001f' + child);
      return;
    }
    this.append(lane, child, value, undefined);
  }

  /** Empties the batch for reuse, dropping its references to values. */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.valueOf[i] = undefined;
    this.count = 0;
    this.inputSeq = 0;
    this.mayHold = false;
    this.index = null;
  }

  /**
   * Puts the pairs in (child, join lane) order. A parent then applies its batch in the
   * same order however the updates arrived (from this shard's turns or as messages from
   * other shards, whose order depends on the worker count), so aggregates built with
   * floating-point arithmetic, where (a + b) + c may differ from (a + c) + b, come out
   * bit-identical at any worker count. Batches are small and usually in order already.
   */
  canonicalize(): void {
    const n = this.count;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (this.compare(i - 1, i) > 0) sorted = false;
    if (sorted) return;
    this.index = null; // positions move; a taken batch gets no further updates anyway
    if (n <= SORT_IN_PLACE_UP_TO) {
      this.insertionSort(); // in place: no allocation for the common small batch
      return;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.compare(a, b));
    const lanes = order.map((i) => this.laneOf[i]!);
    const children = order.map((i) => this.childOf[i]!);
    const values = order.map((i) => this.valueOf[i]);
    for (let i = 0; i < n; i++) {
      this.laneOf[i] = lanes[i]!;
      this.childOf[i] = children[i]!;
      this.valueOf[i] = values[i];
    }
  }

  private insertionSort(): void {
    const { laneOf: lanes, childOf: children, valueOf: values } = this;
    for (let i = 1; i < this.count; i++) {
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
    const ca = this.childOf[a]!;
    const cb = this.childOf[b]!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    const la = this.laneOf[a]!;
    const lb = this.laneOf[b]!;
    return la === lb ? 0 : la < lb ? -1 : 1;
  }

  private append(lane: string, child: string, value: unknown, key: string | undefined): void {
    const i = this.count++;
    if (key !== undefined) this.index!.set(key, i);
    this.laneOf[i] = lane;
    this.childOf[i] = child;
    this.valueOf[i] = value;
  }
}

const INDEX_FROM = 32;

/**
 * Batches up to this size are ordered by insertion sort, in place; larger ones through an
 * index array (O(n log n), allocating). A building's batch (10 floors × 4 join lanes)
 * is past 32 and came through the allocating sort on every step.
 */
const SORT_IN_PLACE_UP_TO = 64;

/**
 * Batches kept for reuse at most (~300 B each): the parents a large step touches. Only
 * small batches are kept; a parent with many children's updates grew arrays and an index
 * that should not stay in memory.
 */
const MAX_SPARE = 8_192;

/**
 * The parents a join round holds, in the order they were first touched, each with its
 * batch: what {@link JoinBuffer.take} hands over. Valid until the next `take`, which
 * refills it (two rounds alternate, so their arrays keep their capacity).
 */
export class JoinRound {
  private readonly parents: string[] = [];
  private readonly batches: JoinUpdates[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** The path of parent `i` (0 ≤ i < length). */
  parent(i: number): string {
    return this.parents[i]!;
  }

  /** Parent `i`'s batch. */
  updates(i: number): JoinUpdates {
    return this.batches[i]!;
  }

  /** Appends a parent; returns its position. */
  push(parent: string, updates: JoinUpdates): number {
    const i = this.count++;
    this.parents[i] = parent;
    this.batches[i] = updates;
    return i;
  }

  /** Empties the round, dropping its references to batches (they were recycled or are held by a loading parent). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.batches[i] = SPENT;
    this.count = 0;
  }
}

/** What a slot of an emptied round holds until it is refilled. */
const SPENT = new JoinUpdates();

/**
 * Parents the buffer remembers between steps at most (see {@link JoinBuffer}); past it, it
 * forgets them all and starts over (~30 B each: a map entry).
 */
const MAX_REMEMBERED = 65_536;

/**
 * Join updates waiting for the end of the current step, coalesced to the latest value
 * per (parent, join lane, child). A burst of readings in one subtree becomes one turn per
 * parent per step, which is what keeps aggregation cheap on the hot path. A parent's batch
 * is reused once its turn ran ({@link JoinBuffer.recycle}): a fresh batch with three
 * growing arrays per parent per step was ~140 B per event. So is the index of parents: a
 * parent keeps its entry across steps (-1 while it has nothing pending), because a map of
 * the step's parents, made anew and grown every step, cost ~27 B per event.
 */
export class JoinBuffer {
  /** Parent → its position in {@link filling}, or -1: nothing pending this round. */
  private positions = new Map<string, number>();
  /** The round updates go to; {@link take} swaps it with {@link taken}. */
  private filling = new JoinRound();
  private taken = new JoinRound();
  private readonly spare: JoinUpdates[] = [];

  constructor(private readonly maxRemembered = MAX_REMEMBERED) {}

  /** Parents with pending updates. */
  get size(): number {
    return this.filling.length;
  }

  /** `changed`: a child's commit sends it because its value changed (see JoinUpdates.mayHold). */
  add(parent: string, joinLane: string, child: string, value: unknown, changed = false): void {
    let at = this.positions.get(parent);
    if (at === undefined || at < 0) {
      at = this.filling.push(parent, this.spare.pop() ?? new JoinUpdates());
      this.positions.set(parent, at);
    }
    const updates = this.filling.updates(at);
    updates.set(joinLane, child, value);
    if (!changed) updates.mayHold = true;
  }

  /**
   * Takes everything pending (parents in the order they were first touched). The round
   * is valid until the next `take`; updates added meanwhile go to the next round.
   */
  take(): JoinRound {
    const round = this.filling;
    this.taken.clear();
    this.filling = this.taken;
    this.taken = round;
    if (this.positions.size > this.maxRemembered) this.positions = new Map();
    else for (let i = 0; i < round.length; i++) this.positions.set(round.parent(i), -1);
    return round;
  }

  /** A taken batch was applied and nothing holds it any more: it serves a later parent. */
  recycle(updates: JoinUpdates): void {
    if (updates.length > INDEX_FROM || this.spare.length >= MAX_SPARE) return;
    updates.clear();
    this.spare.push(updates);
  }
}
