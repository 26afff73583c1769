import type { LaneEvent, LaneObserver } from '../lanes/events.js';
import { LinkOutbox } from '../streams/link-outbox.js';
import { pull } from '../streams/pull.js';

/**
 * A link to one lane of one twin: the lane's current state first (sync), then every
 * change. Use it as a callback or as an async iterable; breaking out of a `for await`
 * (or calling `close`) unlinks. Iteration buffers in a {@link LinkOutbox}, so a consumer
 * that falls behind sees the latest state (or, for command and supply lanes, the latest
 * `bufferLimit` events), never an unbounded queue.
 *
 * @example
 * ```ts
 * const link = rt.link('/org/contoso/site/berlin', 'alarm');
 * for await (const event of link) {
 *   if (event.type === 'value' && event.value === true) break; // unlinks
 * }
 * ```
 */
export class Link implements LaneObserver, AsyncIterable<LaneEvent> {
  /** Resolves once the initial state was delivered; rejects if the link could not be made. */
  readonly synced: Promise<void>;
  private readonly pending: LinkOutbox;
  private waiter: (() => void) | null = null;
  private failure: unknown = null;
  private closed = false;
  private resolveSynced!: () => void;
  private rejectSynced!: (e: unknown) => void;

  constructor(
    readonly path: string,
    readonly lane: string,
    private readonly unlink: (link: Link) => void,
    private readonly callback?: (event: LaneEvent) => void,
    private readonly bufferLimit = 1024,
    private readonly syncedHook?: () => void,
  ) {
    // The kind is not known yet: state until the host says otherwise (useStreamBuffer).
    this.pending = LinkOutbox.single(path, undefined, bufferLimit);
    this.synced = new Promise((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    this.synced.catch(() => {}); // surfaced through iteration or by awaiting `synced`
  }

  /** Called once the lane kind is known: command and supply lanes are streams, not state. */
  useStreamBuffer(limit = this.bufferLimit): void {
    this.pending.useStream(limit);
  }

  /** Events replaced by newer ones (state lanes) or dropped from a full queue (stream lanes) before this consumer read them. */
  get conflated(): number {
    return this.pending.conflated + this.pending.dropped;
  }

  onEvent(event: LaneEvent): void {
    if (this.closed) return;
    if (this.callback) {
      this.callback(event);
      return;
    }
    this.pending.push(event, this.path);
    this.wakeUp();
  }

  onSynced(): void {
    this.resolveSynced();
    if (!this.closed) this.syncedHook?.();
  }

  /** The link could not be made (no such twin or lane): iteration throws this error. */
  fail(error: unknown): void {
    this.failure = error;
    this.rejectSynced(error);
    this.closed = true;
    this.wakeUp();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlink(this);
    this.wakeUp();
  }

  [Symbol.asyncIterator](): AsyncIterator<LaneEvent> {
    return pull({
      take: () => this.pending.shift(),
      failure: () => this.failure,
      closed: () => this.closed,
      wait: () => new Promise<void>((resolve) => (this.waiter = resolve)),
      close: () => this.close(),
    });
  }

  private wakeUp(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
