import { Conflator, type LaneEvent } from '../../lanes/index.js';
import type { EventEncoder } from './event-encoder.js';

/** What an uplink needs from its socket. */
export interface UplinkHost {
  /** The uplink has something to send. */
  wake(uplink: Uplink): void;
}

/**
 * The server side of one WARP link on one socket: it owns the link's pending output and
 * its order. What it sends is, in order: `@linked` (once the runtime confirmed the node
 * and lane), the pending lane events, `@synced` (for `@sync`, after the events that
 * carried the state), and finally `@unlinked`, after which it sends nothing.
 *
 * Pending events live in a {@link Conflator}, one per twin for wildcard links, so a slow
 * socket keeps at most one event per value lane and one per map key: memory is bounded by
 * the lane's state, never by the update rate. Events are encoded only when taken, through
 * the shared {@link EventEncoder}.
 *
 * @example
 * ```ts
 * const up = new Uplink({ node: '/a', lane: 'b', sync: true, wildcard: false, encoder, host, linked });
 * up.onEvent({ type: 'value', value: 1 }, '/a'); up.onSynced();
 * const out: Buffer[] = []; up.take(out, 16_384); // [@linked, @event …1, @synced]
 * ```
 */
export class Uplink {
  readonly node: string;
  readonly lane: string;
  readonly sync: boolean;
  readonly wildcard: boolean;
  /** Set once `@unlinked` was handed out: the session forgets the uplink. */
  finished = false;
  /** The runtime link; closed when this uplink closes. */
  handle: { close(): void } | null = null;
  private readonly encoder: EventEncoder;
  private readonly host: UplinkHost;
  private head: Buffer[];
  private confirmed: boolean;
  private live = false;
  private closed = false;
  private syncedDue = false;
  private synced: Buffer | null;
  private tail: Buffer | null = null;
  private exact: Conflator | null = null;
  private byPath: Map<string, Conflator> | null = null;
  private conflatedGone = 0;

  constructor(options: {
    node: string; lane: string; sync: boolean; wildcard: boolean;
    encoder: EventEncoder; host: UplinkHost; linked: Buffer; synced: Buffer;
  }) {
    this.node = options.node;
    this.lane = options.lane;
    this.sync = options.sync;
    this.wildcard = options.wildcard;
    this.encoder = options.encoder;
    this.host = options.host;
    this.head = [options.linked];
    this.synced = options.sync ? options.synced : null;
    // A filter cannot be "not found"; an exact node is confirmed by its first state.
    this.confirmed = options.wildcard;
    if (options.wildcard) this.byPath = new Map();
    else this.exact = new Conflator('state');
  }

  /** Events replaced by newer ones before this socket could take them. */
  get conflated(): number {
    let n = this.conflatedGone + (this.exact?.conflated ?? 0);
    if (this.byPath) for (const c of this.byPath.values()) n += c.conflated;
    return n;
  }

  /** Lane events waiting to be taken. */
  get pendingEvents(): number {
    let n = this.exact?.size ?? 0;
    if (this.byPath) for (const c of this.byPath.values()) n += c.size;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onEvent(event: LaneEvent, path: string): void {
    if (this.closed) return;
    this.confirmed = true;
    // @link without sync: the initial state is not wanted, only what changes after it.
    if (!this.live && !this.sync && !this.wildcard) return;
    if (this.exact) {
      this.exact.push(event);
    } else {
      let c = this.byPath!.get(path);
      if (!c) this.byPath!.set(path, (c = new Conflator('state')));
      c.push(event);
    }
    this.host.wake(this);
  }

  onSynced(): void {
    if (this.closed) return;
    this.confirmed = true;
    this.live = true;
    if (this.synced) this.syncedDue = true;
    this.host.wake(this);
  }

  /**
   * Ends the link. With `unlinked`, that envelope is the last thing sent; `confirmed`
   * false drops a pending `@linked` (a link that never existed, e.g. `@nodeNotFound`).
   */
  close(unlinked: Buffer | null, confirmed = true): void {
    if (this.closed) return;
    this.closed = true;
    this.handle?.close();
    this.handle = null;
    this.conflatedGone = this.conflated;
    this.exact = null;
    this.byPath = null;
    this.syncedDue = false;
    if (!confirmed && !this.confirmed) this.head = [];
    this.confirmed = true;
    this.tail = unlinked;
    if (!unlinked && this.head.length === 0) this.finished = true;
    else this.host.wake(this);
  }

  /** True when nothing is ready to send. */
  get idle(): boolean {
    if (!this.confirmed) return true;
    if (this.head.length > 0 || this.syncedDue || this.tail) return false;
    if (this.exact) return this.exact.size === 0;
    return this.byPath === null || this.byPath.size === 0;
  }

  /** Moves ready envelopes into `out` until about `limit` bytes; returns the bytes taken. */
  take(out: Buffer[], limit: number): number {
    if (!this.confirmed) return 0;
    let bytes = 0;
    while (this.head.length > 0 && bytes < limit) bytes += push(out, this.head.shift()!);
    if (bytes >= limit) return bytes;
    if (this.exact) {
      while (bytes < limit) {
        const e = this.exact.shift();
        if (!e) break;
        bytes += push(out, this.encoder.encode(e, this.node, this.lane));
      }
      if (this.exact.size > 0) return bytes;
    } else if (this.byPath) {
      for (const [path, c] of this.byPath) {
        while (bytes < limit) {
          const e = c.shift();
          if (!e) break;
          bytes += push(out, this.encoder.encode(e, path, this.lane));
        }
        if (c.size > 0) return bytes;
        this.conflatedGone += c.conflated;
        this.byPath.delete(path);
      }
    }
    if (this.syncedDue) {
      this.syncedDue = false;
      bytes += push(out, this.synced!);
    }
    if (this.tail && this.head.length === 0) {
      bytes += push(out, this.tail);
      this.tail = null;
      this.finished = true;
    }
    return bytes;
  }
}

function push(out: Buffer[], b: Buffer): number {
  out.push(b);
  return b.length;
}
