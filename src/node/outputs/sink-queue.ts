import type { DerivedEvent } from '../../model/twin-model.js';
import { ThrottledWarning, type Logger } from '../../logger.js';
import type { DeadLetterStore } from '../ingest/dead-letters.js';

/** Where derived events go: an MQTT topic tree, a webhook. `deliver` rejects to ask for a retry. */
export interface Sink {
  readonly name: string;
  deliver(event: DerivedEvent): Promise<void>;
}

/** An error a retry cannot fix (a webhook answering 400): dead-letter at once. */
export class PermanentSinkError extends Error {
  override readonly name = 'PermanentSinkError';
}

export interface SinkQueueOptions {
  /** Events waiting per sink before the oldest is dropped (default 10 000). */
  capacity?: number;
  /** Attempts per event before it is dead-lettered (default 6). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to `maxDelayMs` (defaults 200 ms, 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Deliveries in flight at once (default 1: events arrive in order). */
  concurrency?: number;
}

/** Counters of one sink (monotonic, except `queued`). */
export interface SinkStats {
  delivered: number;
  retries: number;
  /**
   * Dropped because the queue was full (oldest first); in `Outputs.stats()` also those the
   * runtime dropped while holding them for the node's sinks during its start (Runtime.holdOutputs).
   */
  dropped: number;
  deadLettered: number;
  queued: number;
}

/** At most one "output dead-lettered" line per sink per this many ms (the count says how many it stands for). */
export const DEAD_LETTER_LOG_MS = 10_000;

/**
 * A bounded, retrying delivery queue in front of one sink.
 *
 * Derived events are pushed from the commit path, which must never wait on a slow
 * webhook: `push` is O(1) and never blocks; when the sink falls `capacity` events behind,
 * the oldest waiting event is dropped and counted (a fresher signal is worth more than a
 * stale one). Failed deliveries are retried with exponential backoff and jitter; after
 * `maxAttempts` (or a {@link PermanentSinkError}) the event is dead-lettered with its
 * full content so it can be replayed.
 *
 * @example
 * ```ts
 * const q = new SinkQueue(webhookSink('https://ops.example/hook'), deadLetters, log, { capacity: 1000 });
 * rt.onOutput((e) => q.push(e));
 * ```
 */
export class SinkQueue {
  readonly stats: SinkStats = { delivered: 0, retries: 0, dropped: 0, deadLettered: 0, queued: 0 };
  /**
   * The endpoint decides how often an output fails: a webhook answering 400 to everything
   * dead-lettered every derived event at once, each with its own warning, so the log grew
   * with the node's output rate. Every dead letter is counted (stats, /metrics) and kept;
   * the log says so once per {@link DEAD_LETTER_LOG_MS}.
   */
  private readonly deadLetterLog: ThrottledWarning;
  private items: DerivedEvent[] = [];
  private head = 0;
  private active = 0;
  private closed = false;
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly capacity: number;
  private readonly maxAttempts: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly concurrency: number;

  constructor(
    readonly sink: Sink,
    private readonly deadLetters: DeadLetterStore,
    private readonly log: Logger,
    options: SinkQueueOptions = {},
  ) {
    this.capacity = options.capacity ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelay = options.baseDelayMs ?? 200;
    this.maxDelay = options.maxDelayMs ?? 30_000;
    this.concurrency = options.concurrency ?? 1;
    this.deadLetterLog = new ThrottledWarning(log, 'output dead-lettered', DEAD_LETTER_LOG_MS, 'deadLettered');
  }

  push(event: DerivedEvent): void {
    if (this.closed) return;
    if (this.items.length - this.head >= this.capacity) {
      this.shift();
      this.stats.dropped++;
      if (this.stats.dropped === 1 || this.stats.dropped % 1000 === 0)
        this.log.warn(
          { sink: this.sink.name, dropped: this.stats.dropped },
          'output sink is behind: dropping its oldest events',
        );
    }
    this.items.push(event);
    this.stats.queued = this.items.length - this.head;
    while (this.active < this.concurrency && this.head < this.items.length) void this.pump();
  }

  /** Resolves once nothing is queued or being delivered. */
  idle(): Promise<void> {
    if (this.active === 0 && this.head >= this.items.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivering; queued events are abandoned (not dead-lettered). */
  close(): void {
    this.closed = true;
    for (const [t, wake] of this.timers) {
      clearTimeout(t);
      wake();
    }
    this.timers.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async pump(): Promise<void> {
    this.active++;
    try {
      while (!this.closed && this.head < this.items.length) {
        const event = this.shift();
        this.stats.queued = this.items.length - this.head;
        await this.deliver(event);
      }
    } finally {
      this.active--;
      if (this.active === 0 && this.head >= this.items.length) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Takes the oldest waiting event off the queue, and lets go of the slots before it once they
   * are most of the array. Both the pump and a drop take events this way: a drop used to move
   * `head` alone, and the array was compacted only by the pump, so behind a delivery that never
   * settles (an external broker that stopped acknowledging) the queue kept every event it had
   * "dropped" (100 000 held with a capacity of 1000): memory grew with the output rate.
   */
  private shift(): DerivedEvent {
    const event = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return event;
  }

  private async deliver(event: DerivedEvent): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.sink.deliver(event);
        this.stats.delivered++;
        return;
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        if (err instanceof PermanentSinkError || attempt >= this.maxAttempts) {
          this.stats.deadLettered++;
          this.deadLetterLog.note({
            sink: this.sink.name,
            type: event.type,
            subject: event.subject,
            attempts: attempt,
            err: message,
          });
          this.deadLetters.add({
            origin: 'output',
            code: 'TWIN_OUTPUT_FAILED',
            message: `${this.sink.name}: ${message} (after ${attempt} attempts)`,
            where: this.sink.name,
            path: event.subject,
            id: event.id,
            source: event.source,
            event,
          });
          return;
        }
        this.stats.retries++;
        const delay = Math.min(this.maxDelay, this.baseDelay * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, delay);
          this.timers.set(t, resolve);
        });
      }
    }
  }
}
