import type { Clock } from '../../actors/clock.js';
import type { LaneEvent } from '../../lanes/events.js';
import type { EventEncoder } from './event-encoder.js';
import { LinkOutbox, type EventSink } from '../../streams/link-outbox.js';
import { RateGate } from '../../streams/rate-gate.js';

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
 * Pending events live in a {@link LinkOutbox} (src/streams, the one conflation mechanism
 * of every link): state lanes conflate (memory bounded by the lane's keys), command and
 * supply lanes queue every event up to `streamLimit` and then drop the oldest, per twin for
 * wildcard links. Events are encoded only when taken, through the shared {@link EventEncoder}.
 *
 * With `rate`, a {@link RateGate} holds events after the sync: they go out in batches at
 * most every `rate` ms on the injected clock, conflating meanwhile. The initial state is
 * never held back.
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
  private readonly pending: LinkOutbox;
  /** Null without a `rate`. */
  private readonly gate: RateGate | null;
  private head: Buffer[];
  private confirmed: boolean;
  private live = false;
  private closed = false;
  private syncedDue = false;
  private synced: Buffer | null;
  private tail: Buffer | null = null;

  constructor(options: UplinkOptions) {
    this.node = options.node;
    this.lane = options.lane;
    this.sync = options.sync;
    this.wildcard = options.wildcard;
    this.encoder = options.encoder;
    this.host = options.host;
    this.prio = options.prio ?? 0;
    this.rate = Math.max(0, options.rate ?? 0);
    this.gate = this.rate > 0 ? new RateGate(this.rate, options.clock, () => this.host.wake(this)) : null;
    this.head = [options.linked];
    this.synced = options.sync ? options.synced : null;
    // An exact node is confirmed by its first state; a filter once the runtime took it
    // (confirm()): a link refused before that (an invalid filter, a lane no model under it
    // has, the authorizer) is answered `@unlinked` alone.
    this.confirmed = false;
    this.pending = options.wildcard
      ? LinkOutbox.perTwin(options.kindOf, options.streamLimit)
      : LinkOutbox.single(options.node, options.kindOf(options.node), options.streamLimit);
  }

  /** State events replaced by newer ones before this socket could take them. */
  get conflated(): number {
    return this.pending.conflated;
  }

  /** Command/supply events dropped because this link's queue was full. */
  get dropped(): number {
    return this.pending.dropped;
  }

  /** True while a command/supply queue of this link has dropped events and not yet drained. */
  get overflowing(): boolean {
    return this.pending.overflowing;
  }

  /** Lane events waiting to be taken. */
  get pendingEvents(): number {
    return this.pending.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The runtime took the link (a wildcard one, which no state confirms): `@linked` may go out. */
  confirm(): void {
    this.confirmed = true;
  }

  onEvent(event: LaneEvent, path: string): void {
    if (this.closed) return;
    this.confirmed = true;
    // @link without sync: the initial state is not wanted, only what changes after it.
    if (!this.live && !this.sync && !this.wildcard) return;
    this.pending.push(event, path);
    if (this.gate === null || this.gate.admit()) this.host.wake(this);
  }

  onSynced(): void {
    if (this.closed) return;
    this.confirmed = true;
    this.live = true;
    // The initial state still pending goes out now, whatever the rate.
    this.gate?.live(!this.pending.empty);
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
    this.gate?.close();
    this.pending.discard();
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
    return !this.eventsReady || this.pending.empty;
  }

  /** Moves ready envelopes into `out` until about `limit` bytes; returns the bytes taken. */
  take(out: Buffer[], limit: number): number {
    if (!this.confirmed) return 0;
    let bytes = 0;
    while (this.head.length > 0 && bytes < limit) bytes += push(out, this.head.shift()!);
    if (bytes >= limit) return bytes;
    if (this.eventsReady && !this.pending.empty) {
      const drained = this.pending.drain(frame.start(out, bytes, limit, this.encoder, this.lane));
      const sent = frame.bytes > bytes;
      bytes = frame.end();
      if (!drained) return bytes;
      // Everything pending went out: with a rate, the next batch waits a full interval.
      if (sent) this.gate?.sent();
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
    return this.gate === null || this.gate.open;
  }
}

/**
 * Encodes the events an uplink drains into the envelopes being gathered, up to a byte
 * limit. One for all uplinks (a take runs to completion before the next starts), so the
 * drain's call to `accept` sees one class and a link carries no per-take fields.
 */
class FrameFill implements EventSink {
  bytes = 0;
  private out: Buffer[] = [];
  private limit = 0;
  private encoder: EventEncoder | null = null;
  private lane = '';

  start(out: Buffer[], bytes: number, limit: number, encoder: EventEncoder, lane: string): this {
    this.out = out;
    this.bytes = bytes;
    this.limit = limit;
    this.encoder = encoder;
    this.lane = lane;
    return this;
  }

  accept(event: LaneEvent, path: string): boolean {
    const b = this.encoder!.encode(event, path, this.lane);
    this.out.push(b);
    this.bytes += b.length;
    return this.bytes < this.limit;
  }

  /** Lets go of the caller's array; returns the bytes gathered so far. */
  end(): number {
    this.out = NO_OUTPUT;
    this.encoder = null;
    return this.bytes;
  }
}

const NO_OUTPUT: Buffer[] = [];
const frame = new FrameFill();

function push(out: Buffer[], b: Buffer): number {
  out.push(b);
  return b.length;
}
