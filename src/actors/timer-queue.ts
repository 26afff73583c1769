/** One armed timer: fires `name` on the twin at `path` at `due`. */
export interface TimerEntry {
  readonly due: number;
  readonly path: string;
  readonly name: string;
}

/**
 * A binary min-heap of timer entries ordered by (due, path, name). The order does not
 * depend on when entries were inserted, so every shard layout and every replay fires
 * simultaneous timers in the same order.
 */
export class TimerQueue {
  private heap: TimerEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): TimerEntry | undefined {
    return this.heap[0];
  }

  push(entry: TimerEntry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** Removes and returns the earliest entry due at or before `now`. */
  popDue(now: number): TimerEntry | undefined {
    const h = this.heap;
    const top = h[0];
    if (!top || top.due > now) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  if (a.due !== b.due) return a.due < b.due;
  if (a.path !== b.path) return a.path < b.path;
  return a.name < b.name;
}
