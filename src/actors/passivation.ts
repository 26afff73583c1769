import { activitySecond } from './activity-time.js';
import type { Clock } from './clock.js';
import type { Twin } from './twin.js';

export interface PassivationOptions {
  /** Passivate twins with no turn for this long (ms, on the runtime clock). */
  readonly idleMs?: number;
  /**
   * Keep at most about this many twins live: past 110 % the least recently active are
   * passivated down to 90 % (the slack keeps eviction rare and batched).
   */
  readonly maxActive?: number;
}

/**
 * Decides which live twins to passivate at the end of a step: idle ones (swept every half
 * idle period, on the runtime clock, also without traffic) and, past the active limit,
 * the least recently active. The shard does the stopping (onStop, final writes).
 */
export class Passivator {
  private nextIdleSweep = 0;
  private idleSweep: (() => void) | null = null;

  constructor(
    private readonly options: PassivationOptions | undefined,
    private readonly clock: Clock,
    /** Runs a step later, so idle twins go even when nothing arrives. */
    private readonly wakeShard: () => void,
  ) {}

  run(twins: ReadonlyMap<string, Twin>, stop: (twin: Twin) => void): void {
    const p = this.options;
    if (!p) return;
    if (p.maxActive !== undefined && twins.size > Math.ceil(p.maxActive * 1.1)) {
      evictLeastRecent(twins, twins.size - Math.floor(p.maxActive * 0.9), stop);
    }
    if (p.idleMs === undefined) return;
    const now = this.clock.now();
    if (now >= this.nextIdleSweep) {
      const cutoff = activitySecond(now - p.idleMs);
      for (const twin of [...twins.values()]) if (twin.state === 'active' && twin.lastActiveSec < cutoff) stop(twin);
      this.nextIdleSweep = now + Math.max(1000, p.idleMs / 2);
    }
    if (!this.idleSweep && twins.size > 0) {
      this.idleSweep = this.clock.schedule(this.nextIdleSweep, () => {
        this.idleSweep = null;
        this.wakeShard();
      });
    }
  }

  stop(): void {
    this.idleSweep?.();
    this.idleSweep = null;
  }
}

/** Stops the `count` twins with the oldest last turn (ties: the earliest activated). */
function evictLeastRecent(twins: ReadonlyMap<string, Twin>, count: number, stop: (twin: Twin) => void): void {
  const live = [...twins.values()].filter((t) => t.state === 'active');
  const ages = Float64Array.from(live, (t) => t.lastActiveSec).sort();
  const threshold = ages[Math.min(count, ages.length) - 1] ?? -Infinity;
  let stopped = 0;
  for (const twin of live) {
    if (stopped >= count) break;
    if (twin.lastActiveSec <= threshold) {
      stop(twin);
      stopped++;
    }
  }
}
