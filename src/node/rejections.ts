import type { Logger } from '../logger.js';

/** How many lines one kind of rejection may log per window, and the window (defaults 5 per 10 s). */
export interface RejectionLogOptions {
  linesPerWindow?: number;
  windowMs?: number;
  /** Monotonic milliseconds (tests pass a simulated clock). */
  now?: () => number;
}

interface KindState {
  count: number;
  windowStart: number;
  logged: number;
  suppressed: number;
}

/**
 * The one counter and log valve for input a node refuses (bad payloads, oversized or
 * half-sent messages, floods, connections past a cap). A hostile sender chooses how often
 * it is refused, so the log must not grow with its rate: each kind logs at most
 * `linesPerWindow` lines per window, then one line saying how many it left out. Every
 * refusal is counted, and `/metrics` exports the counts as `twinflow_rejected_total{kind}`.
 *
 * @example
 * ```ts
 * const rejections = new Rejections(logger);
 * rejections.note('mqtt_packet_too_large', { clientId, bytes }, 'MQTT packet over the limit; connection closed');
 * rejections.counts(); // Map { 'mqtt_packet_too_large' => 1 }
 * ```
 */
export class Rejections {
  private readonly kinds = new Map<string, KindState>();
  private readonly linesPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly log: Logger,
    options: RejectionLogOptions = {},
  ) {
    this.linesPerWindow = options.linesPerWindow ?? 5;
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Counts one refusal of `kind` and logs it at `level` unless its kind used up this window's lines. */
  note(
    kind: string,
    fields: Record<string, unknown>,
    message: string,
    level: 'info' | 'warn' | 'error' = 'info',
  ): void {
    const now = this.now();
    let s = this.kinds.get(kind);
    if (!s) this.kinds.set(kind, (s = { count: 0, windowStart: now, logged: 0, suppressed: 0 }));
    s.count++;
    if (now - s.windowStart >= this.windowMs) {
      if (s.suppressed > 0)
        this.log[level](
          { kind, suppressed: s.suppressed, windowMs: this.windowMs },
          `${s.suppressed} more "${kind}" rejections were not logged`,
        );
      s.windowStart = now;
      s.logged = 0;
      s.suppressed = 0;
    }
    if (s.logged < this.linesPerWindow) {
      s.logged++;
      this.log[level]({ kind, ...fields }, message);
    } else s.suppressed++;
  }

  /** Refusals so far, by kind (monotonic). */
  counts(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const [kind, s] of this.kinds) out.set(kind, s.count);
    return out;
  }

  /** Refusals of one kind so far. */
  count(kind: string): number {
    return this.kinds.get(kind)?.count ?? 0;
  }
}
