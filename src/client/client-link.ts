import { BoundedQueue } from '../streams/bounded-queue.js';
import { pull } from '../streams/pull.js';
import type { ClientEvent, TypedLaneEvent } from './types.js';

/**
 * Why a link ended or never synced. From the server: the tag of the `@unlinked` body
 * (`nodeNotFound`, `laneNotFound`, `forbidden`, `tooManyLinks`, …) with the server's error
 * code and message. From the client itself (rejecting `synced` only): `closed`
 * (`CLIENT_LINK_CLOSED`, the handle was closed first), `clientClosed` (`CLIENT_CLOSED`,
 * the client was closed, or the socket dropped with `reconnect: false`), `timeout`
 * (`CLIENT_SYNC_TIMEOUT`, see `syncTimeoutMs`).
 *
 * @example
 * ```ts
 * try { for await (const e of link) {} } catch (err) {
 *   if (err instanceof LinkError && err.reason === 'nodeNotFound') showMissing(err.node);
 * }
 * ```
 */
export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(
    readonly reason: string,
    readonly code: string | undefined,
    message: string,
    readonly node: string,
    readonly lane: string,
  ) {
    super(message);
  }
}

/** Callbacks of a link; all optional. */
export interface LinkCallbacks<V> {
  /** Every event, in order (the state first on sync, then changes). */
  onEvent?: (event: TypedLaneEvent<V>, node: string) => void;
  /** After the initial state, and again after each resync following a reconnect. */
  onSynced?: () => void;
  /** The server ended the link (no such node or lane, denied, limits). */
  onUnlinked?: (error: LinkError) => void;
  /**
   * WARP `prio`: when the socket is backed up, links with a higher prio are sent first.
   * Links to the same node and lane share one server link, which takes the highest prio.
   */
  prio?: number;
  /**
   * WARP `rate`: at most one delivery per `rate` ms (changes in between are conflated to the
   * latest). A shared server link takes the smallest rate any of its handles asked for.
   */
  rate?: number;
}

/** Events buffered for a `for await` consumer that is behind; older ones are dropped past this. */
const ITERATION_BUFFER = 10_000;

/**
 * One subscription to one lane (or, with a wildcard node, to one lane of many twins).
 * Consume it with callbacks or with `for await` (breaking out unlinks). It survives
 * reconnects: the client relinks and, for sync links, the state arrives again followed
 * by `onSynced`.
 *
 * @example
 * ```ts
 * const link = client.sync<boolean>('/org/contoso/site/berlin', 'alarm');
 * await link.synced;
 * link.value;                         // current alarm state
 * for await (const { event } of link) if (event.type === 'value' && event.value) break;
 * ```
 */
export class ClientLink<V = unknown> implements AsyncIterable<ClientEvent<V>> {
  /**
   * Resolves after the first initial state (sync) or link confirmation. Rejects with a
   * {@link LinkError} if the server refuses the link, if the link or its client is closed
   * first (`closed`, `clientClosed`), or after the client's `syncTimeoutMs` (`timeout`).
   */
  readonly synced: Promise<void>;
  private latest: V | undefined;
  private readonly entries = new Map<string, V>();
  /** The `for await` buffer: every event in order, the oldest dropped past 10,000 (the client does not know lane kinds, so it cannot conflate). */
  private readonly queue = new BoundedQueue<ClientEvent<V>>(ITERATION_BUFFER);
  private waiter: (() => void) | null = null;
  private failure: LinkError | null = null;
  private closed = false;
  private iterating = false;
  private resolveSynced!: () => void;
  private rejectSynced!: (e: unknown) => void;
  /** `synced` resolved or rejected (a promise cannot be asked). */
  private settled = false;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;

  /** `syncTimeoutMs`: reject `synced` with a `timeout` LinkError if no answer came by then (the link stays). */
  constructor(
    readonly node: string,
    readonly lane: string,
    readonly sync: boolean,
    private readonly callbacks: LinkCallbacks<V>,
    private readonly detach: (link: ClientLink<V>) => void,
    syncTimeoutMs?: number,
  ) {
    this.synced = new Promise((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    this.synced.catch(() => {}); // surfaced through iteration and onUnlinked too
    if (syncTimeoutMs !== undefined && syncTimeoutMs > 0 && Number.isFinite(syncTimeoutMs)) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        const what = sync ? 'initial state' : 'link confirmation';
        this.settle(
          new LinkError('timeout', 'CLIENT_SYNC_TIMEOUT', `no ${what} within ${syncTimeoutMs} ms`, node, lane),
        );
      }, syncTimeoutMs);
    }
  }

  /** The latest value of a value lane (undefined before the first event). */
  get value(): V | undefined {
    return this.latest;
  }

  /** The current entries of a map or join lane, as received. */
  get map(): ReadonlyMap<string, V> {
    return this.entries;
  }

  /** Iteration events dropped because the consumer was more than 10,000 events behind. */
  get dropped(): number {
    return this.queue.lost;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Unlinks (sends `@unlink` when no other handle shares the lane). A `synced` still
   * pending rejects with a LinkError (`closed`).
   */
  close(): void {
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<ClientEvent<V>> {
    this.iterating = true;
    return pull({
      take: () => this.queue.shift(),
      failure: () => this.failure,
      closed: () => this.closed,
      wait: () => new Promise<void>((resolve) => (this.waiter = resolve)),
      close: () => this.close(),
    });
  }

  // ---- called by the client -------------------------------------------------------

  /** @internal */
  deliver(event: TypedLaneEvent<V>, node: string): void {
    if (this.closed) return;
    switch (event.type) {
      case 'value':
        this.latest = event.value;
        break;
      case 'update':
        this.entries.set(event.key, event.value);
        break;
      case 'remove':
        this.entries.delete(event.key);
        break;
      case 'clear':
        this.entries.clear();
    }
    this.callbacks.onEvent?.(event, node);
    // Buffer for iteration unless the app only uses callbacks (bounded either way).
    if (this.iterating || !this.callbacks.onEvent) {
      this.queue.push({ node, lane: this.lane, event });
      this.wakeUp();
    }
  }

  /**
   * Closes the handle; `synced`, if still pending, rejects with `error` (by default: the
   * link was closed). Iteration ends without an error.
   *
   * @internal
   */
  end(error?: LinkError): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.settled)
      this.settle(
        error ??
          new LinkError(
            'closed',
            'CLIENT_LINK_CLOSED',
            'the link was closed before its first answer arrived',
            this.node,
            this.lane,
          ),
      );
    this.detach(this);
    this.wakeUp();
  }

  /** @internal */
  markLinked(): void {
    if (!this.sync && !this.closed) this.settle();
  }

  /** @internal */
  markSynced(): void {
    if (this.closed) return;
    this.settle();
    this.callbacks.onSynced?.();
  }

  /** @internal */
  fail(error: LinkError): void {
    if (this.closed) return;
    this.failure = error;
    this.closed = true;
    this.settle(error);
    this.callbacks.onUnlinked?.(error);
    this.wakeUp();
  }

  /** Resolves `synced`, or rejects it with `error`; once. */
  private settle(error?: LinkError): void {
    if (this.settled) return;
    this.settled = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (error) this.rejectSynced(error);
    else this.resolveSynced();
  }

  private wakeUp(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
