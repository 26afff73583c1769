import type { Clock } from '../../actors/clock.js';
import type { LaneEvent } from '../../lanes/events.js';
import type { EventEncoder } from './event-encoder.js';
import { StreamOutbox, outboxFor, type Outbox } from './outbox.js';

/** What an uplink needs from its socket. */
export interface UplinkHost {
  /** The uplink has something to send. */
  wake(uplink: Uplink): void;
}

/** How an uplink is made (see {@link Uplink}). */
export interface UplinkOptions {
  node: string;
  lane: string;
  sync: boolean;
  wildcard: boolean;
  encoder: EventEncoder;
  host: UplinkHost;
  linked: Buffer;
  synced: Buffer;
  /** The lane kind of a twin's lane (`command`/`supply` are streams); undefined when unknown. */
  kindOf: (path: string) => string | undefined;
  /** Bounded queue length of stream (command, supply) lanes. */
  streamLimit: number;
  /** WARP `prio`: under a constrained send budget, higher goes first (default 0). */
  prio?: number | undefined;
  /** WARP `rate`: minimum ms between deliveries of events after the sync (default 0: none). */
  rate?: number | undefined;
  clock: Clock;
}

/**
 * The server side of one WARP link on one socket: it owns the link's pending output and
 * its order. What it sends is, in order: `@linked` (once the runtime confirmed the node
 * and lane), the pending lane events, `@synced` (for `@sync`, after the events that
 * carried the state), and finally `@unlinked`, after which it sends nothing.
 *
 * Pending events live in an {@link Outbox}, one per twin for wildcard links: state lanes
 * conflate (memory bounded by the lane's keys), command and supply lanes queue every
 * event up to `streamLimit` and then drop the oldest. Events are encoded only when taken,
 * through the shared {@link EventEncoder}.
 *
 * With `rate`, events after the sync go out in batches at most every `rate` ms on the
 * injected clock: what arrives in between waits (conflated, for state lanes) and the batch
 * leaves when the interval has elapsed. The initial state is never held back.
 *
 * @example
 * ```ts
 * const up = new Uplink({ node: '/a', lane: 'b', sync: true, wildcard: false, encoder, host, linked, synced,
 *   kindOf: () => 'value', streamLimit: 256, clock: new RealClock() });
 * up.onEvent({ type: 'value', value: 1 }, '/a'); up.onSynced();
 * const out: Buffer[] = []; up.take(out, 16_384); // [@linked, @event …1, @synced]
 * ```
 */
export class Uplink {
  readonly node: string;
  readonly lane: string;
  readonly sync: boolean;
  readonly wildcard: boolean;
  readonly prio: number;
  readonly rate: number;
  /** Set once `@unlinked` was handed out: the session forgets the uplink. */
  finished = false;
  /** The runtime link; closed when this uplink closes. */
  handle: { close(): void } | null = null;
  /** Kept by the socket's `ReadyLinks`: true while it holds this link (spares it a set lookup per event). */
  inReady = false;
  private readonly encoder: EventEncoder;
  private readonly host: UplinkHost;
  private readonly kindOf: (path: string) => string | undefined;
  private readonly streamLimit: number;
  private readonly clock: Clock;
  private head: Buffer[];
  private confirmed: boolean;
  private live = false;
  private closed = false;
  private syncedDue = false;
  private synced: Buffer | null;
  private tail: Buffer | null = null;
  private exact: Outbox | null = null;
  private byPath: Map<string, Outbox> | null = null;
  private conflatedGone = 0;
  private droppedGone = 0;
  /** Rate limiting: when the next batch may leave, whether one is leaving, the armed timer. */
  private nextDue = 0;
  private draining = false;
  private cancelTimer: (() => void) | null = null;

  constructor(options: UplinkOptions) {
    this.node = options.node;
    this.lane = options.lane;
    this.sync = options.sync;
    this.wildcard = options.wildcard;
    this.encoder = options.encoder;
    this.host = options.host;
    this.kindOf = options.kindOf;
    this.streamLimit = options.streamLimit;
    this.clock = options.clock;
    this.prio = options.prio ?? 0;
    this.rate = Math.max(0, options.rate ?? 0);
    this.head = [options.linked];
    this.synced = options.sync ? options.synced : null;
    // A filter cannot be "not found"; an exact node is confirmed by its first state.
    this.confirmed = options.wildcard;
    if (options.wildcard) this.byPath = new Map();
    else this.exact = outboxFor(options.kindOf(options.node), options.streamLimit);
  }

  /** State events replaced by newer ones before this socket could take them. */
  get conflated(): number {
    return this.conflatedGone + this.sumLost(false);
  }

  /** Command/supply events dropped because this link's queue was full. */
  get dropped(): number {
    return this.droppedGone + this.sumLost(true);
  }

  /** True while a command/supply queue of this link has dropped events and not yet drained. */
  get overflowing(): boolean {
    if (this.exact) return this.exact instanceof StreamOutbox && this.exact.overflowing;
    if (this.byPath) for (const o of this.byPath.values()) if (o instanceof StreamOutbox && o.overflowing) return true;
    return false;
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
      if (!c) this.byPath!.set(path, (c = outboxFor(this.kindOf(path), this.streamLimit)));
      c.push(event);
    }
    if (!this.throttled()) this.host.wake(this);
  }

  onSynced(): void {
    if (this.closed) return;
    this.confirmed = true;
    this.live = true;
    // The initial state still pending goes out now, whatever the rate.
    if (this.rate > 0 && this.pendingEvents > 0) this.draining = true;
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
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.conflatedGone = this.conflated;
    this.droppedGone = this.dropped;
    this.exact = null;
    this.byPath = null;
    this.syncedDue = false;
    if (!confirmed && !this.confirmed) this.head = [];
    this.confirmed = true;
    this.tail = unlinked;
    if (!unlinked && this.head.length === 0) this.finished = true;
    else this.host.wake(this);
  }

  /** True when nothing is ready to send (pending events held back by `rate` do not count). */
  get idle(): boolean {
    if (!this.confirmed) return true;
    if (this.head.length > 0 || this.syncedDue || this.tail) return false;
    if (!this.eventsReady) return true;
    if (this.exact) return this.exact.size === 0;
    return this.byPath === null || this.byPath.size === 0;
  }

  /** Moves ready envelopes into `out` until about `limit` bytes; returns the bytes taken. */
  take(out: Buffer[], limit: number): number {
    if (!this.confirmed) return 0;
    let bytes = 0;
    while (this.head.length > 0 && bytes < limit) bytes += push(out, this.head.shift()!);
    if (bytes >= limit) return bytes;
    if (this.eventsReady) {
      const before = bytes;
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
          if (c instanceof StreamOutbox) this.droppedGone += c.lost;
          else this.conflatedGone += c.lost;
          this.byPath.delete(path);
        }
      }
      // Everything pending went out: with a rate, the next batch waits a full interval.
      if (this.rate > 0 && bytes > before) {
        this.draining = false;
        this.nextDue = this.clock.now() + this.rate;
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

  /** Events may be taken now: no rate, still syncing, or a rate-limited batch is due. */
  private get eventsReady(): boolean {
    return this.rate === 0 || !this.live || this.draining;
  }

  /** With a rate, decides whether new events wait; arms the clock for the next batch. */
  private throttled(): boolean {
    if (!this.live || this.rate === 0 || this.draining) return false;
    if (this.clock.now() >= this.nextDue) {
      this.draining = true;
      return false;
    }
    this.cancelTimer ??= this.clock.schedule(this.nextDue, () => {
      this.cancelTimer = null;
      if (this.closed) return;
      this.draining = true;
      this.host.wake(this);
    });
    return true;
  }

  private sumLost(stream: boolean): number {
    let n = 0;
    const count = (o: Outbox): void => {
      if ((o instanceof StreamOutbox) === stream) n += o.lost;
    };
    if (this.exact) count(this.exact);
    if (this.byPath) for (const c of this.byPath.values()) count(c);
    return n;
  }
}

function push(out: Buffer[], b: Buffer): number {
  out.push(b);
  return b.length;
}
