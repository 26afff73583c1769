import type { StateStore } from '../store/state-store.js';
import type { Clock } from './clock.js';

/** Stores that index which stored twins have timers coming due (LmdbStateStore does). */
interface TimerIndexedStore extends StateStore {
  dueTwins(until: number, limit?: number): string[];
  nextDue(after: number): number | undefined;
}

const WINDOW_MS = 60_000;

/**
 * Brings back twins that are not live but have timers coming due after a restart: each
 * stored twin (of this shard) with a timer due within the next minute is activated, and
 * restoring it re-arms its timers from its record. The next scan is scheduled at the
 * next due time the index holds, not every minute: twins that go live or are passivated
 * later keep their timers in the shard's heap, so only what was stored before this start
 * needs the index (and a replay whose clock jumps years does not scan every minute).
 */
export class TimerRecovery {
  private cancel: (() => void) | null = null;

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly wake: (path: string) => void,
  ) {}

  start(): void {
    if (typeof (this.store as Partial<TimerIndexedStore>).dueTwins !== 'function') return;
    this.scan();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private scan(): void {
    const store = this.store as TimerIndexedStore;
    const horizon = this.clock.now() + WINDOW_MS;
    for (const path of store.dueTwins(horizon)) this.wake(path);
    const next = store.nextDue(horizon + 1);
    this.cancel =
      next === undefined ? null : this.clock.schedule(Math.max(next, horizon) - WINDOW_MS / 2, () => this.scan());
  }
}
