import type { LaneEvent, LaneObserver } from '../lanes/events.js';
import { LinkOutbox } from '../streams/link-outbox.js';
import { pull } from '../streams/pull.js';

/** One event of a wildcard link, naming the twin it came from. */
export interface PathEvent {
  readonly path: string;
  readonly event: LaneEvent;
}

/**
 * A link to one lane of every twin matching a path filter (`*` one segment, `**` any
 * depth): the current state of each matching twin, then every change, each naming its
 * concrete path. Twins that start later and match are included from their start.
 * Iteration buffers in a {@link LinkOutbox}, conflating per twin, so a slow consumer's
 * memory is bounded by twins × keys.
 *
 * @example
 * ```ts
 * const link = rt.linkFilter('/org/contoso/site/berlin/building/41/floor/3/unit/j/room/*', 'occupied');
 * for await (const { path, event } of link) console.log(path, event);
 * ```
 */
export class FilterLink implements LaneObserver, AsyncIterable<PathEvent> {
  readonly synced: Promise<void>;
  // One outbox per twin, by the lane's kind on that twin's model: state conflates, command and
  // supply lanes queue (bounded, counted drops), as WARP wildcard links do.
  private readonly pending: LinkOutbox;
  private waiter: (() => void) | null = null;
  private failure: unknown = null;
  private closed = false;
  private resolveSynced!: () => void;
  private rejectSynced!: (e: unknown) => void;

  constructor(
    readonly filter: string,
    readonly lane: string,
    private readonly unlink: (link: FilterLink) => void,
    private readonly callback?: (event: LaneEvent, path: string) => void,
    kindOf: (path: string) => string | undefined = () => undefined,
  ) {
    this.pending = LinkOutbox.perTwin(kindOf, 1024);
    this.synced = new Promise((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    this.synced.catch(() => {});
  }

  onEvent(event: LaneEvent, path: string): void {
    if (this.closed) return;
    if (this.callback) {
      this.callback(event, path);
      return;
    }
    this.pending.push(event, path);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  onSynced(): void {
    this.resolveSynced();
  }

  fail(error: unknown): void {
    this.failure = error;
    this.rejectSynced(error);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlink(this);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<PathEvent> {
    return pull({
      take: () => this.pending.shiftEntry(),
      failure: () => this.failure,
      closed: () => this.closed,
      wait: () => new Promise<void>((resolve) => (this.waiter = resolve)),
      close: () => this.close(),
    });
  }
}
