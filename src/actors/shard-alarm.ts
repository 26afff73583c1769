import type { Clock } from './clock.js';
import { TimerQueue, type TimerEntry } from './timer-queue.js';

/**
 * A shard's timers: a heap of armed entries and exactly one clock callback, armed for the
 * earliest of them. When it fires, every entry due by then is handed over at once, in heap
 * order, so on a simulated clock each timer's turn still runs at its own time.
 */
export class ShardAlarm {
  private readonly queue = new TimerQueue();
  private wake: { at: number; cancel: () => void } | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (due: TimerEntry[]) => void,
  ) {}

  arm(entry: TimerEntry): void {
    this.queue.push(entry);
    this.ensureWake();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.cancel();
    this.wake = null;
  }

  private fire(): void {
    this.wake = null;
    const now = this.clock.now();
    const due: TimerEntry[] = [];
    for (let e = this.queue.popDue(now); e; e = this.queue.popDue(now)) due.push(e);
    this.onDue(due);
    this.ensureWake();
  }

  private ensureWake(): void {
    const next = this.queue.peek();
    if (!next || this.stopped) return;
    if (this.wake && this.wake.at <= next.due) return;
    this.wake?.cancel();
    this.wake = { at: next.due, cancel: this.clock.schedule(next.due, () => this.fire()) };
  }
}
