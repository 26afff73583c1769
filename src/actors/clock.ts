/**
 * The only source of time for twins. Live runs use {@link RealClock}; tests and replays
 * use {@link SimulatedClock}, whose time moves only when told to, firing due callbacks
 * in time order with `now()` equal to each callback's due time.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once at (or after) `at`; returns a function that cancels it. */
  schedule(at: number, fn: () => void): () => void;
}

/** Wall-clock time with `setTimeout` (unref'd, so a pending timer never keeps a process alive). */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(at: number, fn: () => void): () => void {
    // setTimeout caps at 2^31-1 ms; re-arm for far deadlines instead of firing early.
    const MAX = 0x7fffffff;
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const delay = at - Date.now();
      if (delay > MAX) handle = setTimeout(arm, MAX);
      else handle = setTimeout(fn, Math.max(0, delay));
      handle.unref?.();
    };
    arm();
    return () => clearTimeout(handle);
  }
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only through {@link SimulatedClock.advance} / {@link SimulatedClock.advanceTo}.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock(Date.parse('2015-02-04T17:51:00Z'));
 * const rt = createRuntime({ models, clock });
 * clock.advance(10 * 60_000); // fires every timer due in the next 10 minutes, in order
 * await rt.settle();
 * ```
 */
export class SimulatedClock implements Clock {
  private current: number;
  private queue: Scheduled[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(at: number, fn: () => void): () => void {
    const entry: Scheduled = { at, seq: this.seq++, fn, cancelled: false };
    this.queue.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }

  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `time`, running every callback due on the way, in (time, order) order. */
  advanceTo(time: number): void {
    if (time < this.current) throw new RangeError(`SimulatedClock cannot go back from ${this.current} to ${time}`);
    for (;;) {
      const next = this.takeNext(time);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = time;
  }

  /** Callbacks still waiting (not cancelled). */
  get pending(): number {
    return this.queue.filter((e) => !e.cancelled).length;
  }

  private takeNext(limit: number): Scheduled | undefined {
    let best = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.cancelled || e.at > limit) continue;
      const b = this.queue[best];
      if (!b || e.at < b.at || (e.at === b.at && e.seq < b.seq)) best = i;
    }
    if (best < 0) {
      this.queue = this.queue.filter((e) => !e.cancelled);
      return undefined;
    }
    return this.queue.splice(best, 1)[0];
  }
}
