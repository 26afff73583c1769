import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { WarpEncoding } from '../../protocol/warp/index.js';
import type { WarpLimits, WarpStats } from './limits.js';
import { ReadyLinks } from './ready-links.js';
import type { Uplink, UplinkHost } from './uplink.js';
import { headerLength, writeHeader } from './ws-frames.js';

const NL = 0x0a;
const OPEN = 0x5b;
const COMMA = 0x2c;
const CLOSE = 0x5d;

/**
 * Writers with output, flushed together in one microtask after the runtime step that woke
 * them (one closure and one microtask per step, not one per socket).
 */
let due: SocketWriter[] = [];
let spare: SocketWriter[] = [];
let flushQueued = false;

function flushDue(): void {
  flushQueued = false;
  const list = due;
  due = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flushScheduled();
  list.length = 0;
  spare = list;
}

/** The envelopes of the frame being built; reused, since a frame is sent before the next one starts. */
const parts: Buffer[] = [];

/**
 * Writes a socket's output within its send budget. Work is gathered from the socket's
 * control queue (replies, errors) and its ready links (highest `prio` first, round robin
 * within a prio) into frames of about `frameBytes` (several envelopes per frame in the
 * batching encodings; one per frame, written together, for Swim clients). When
 * ws' `bufferedAmount` reaches the budget it stops and waits for the socket to drain;
 * meanwhile new lane events conflate (or queue, bounded, for command and supply lanes) in
 * the links instead of queueing here, which is what bounds a slow reader's memory.
 *
 * @example
 * ```ts
 * const writer = new SocketWriter(ws, socket, 'json', DEFAULT_WARP_LIMITS, newWarpStats());
 * writer.control(Buffer.from('{"tag":"authed"}'));
 * ```
 */
export class SocketWriter implements UplinkHost {
  private readonly ready = new ReadyLinks();
  private controls: Buffer[] = [];
  private scheduled = false;
  private waiting = false;
  private closed = false;
  private readonly onDrain = (): void => {
    this.waiting = false;
    this.flush();
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly encoding: WarpEncoding,
    private readonly limits: WarpLimits,
    private readonly stats: WarpStats,
  ) {}

  /** Bytes in the socket buffer and lane events waiting in the links. */
  get pending(): { bufferedBytes: number; events: number } {
    let events = 0;
    for (const up of this.ready.values()) events += up.pendingEvents;
    return { bufferedBytes: this.ws.bufferedAmount, events };
  }

  /** A link has output (its events go straight here: the fan-out path skips the session). */
  wake(up: Uplink): void {
    this.ready.add(up);
    this.schedule();
  }

  /**
   * Queues a reply or error envelope. Errors (`droppable`) beyond the limit are dropped;
   * a client that sends requests without reading their replies is disconnected.
   */
  control(envelope: Buffer, droppable = false): void {
    if (this.closed) return;
    // One batched frame can ask for many replies at once: write before judging the client.
    if (this.controls.length >= this.limits.maxPendingControl && !this.waiting) this.flush();
    if (this.controls.length >= this.limits.maxPendingControl) {
      if (droppable) {
        this.stats.controlDropped++;
        return;
      }
      this.ws.close(1008, 'client does not read its replies');
      return;
    }
    this.controls.push(envelope);
    this.schedule();
  }

  forgetIfFinished(up: Uplink): void {
    if (up.finished) this.ready.delete(up);
  }

  close(): void {
    this.closed = true;
    this.ready.clear();
    this.controls = [];
    this.socket.off('drain', this.onDrain);
  }

  /** Called by the shared flush after the step; not for other callers. */
  flushScheduled(): void {
    this.scheduled = false;
    this.flush();
  }

  private schedule(): void {
    if (this.scheduled || this.waiting || this.closed) return;
    this.scheduled = true;
    // A microtask runs after the whole shard step that woke us: one flush per step, and
    // each socket gets everything of that step in as few frames (and syscalls) as fit.
    due.push(this);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flushDue);
    }
  }

  private flush(): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    const budget = this.limits.sendBudgetBytes;
    const frameBytes = this.limits.frameBytes;
    let blocked = false;
    this.socket.cork();
    try {
      for (;;) {
        if (this.ws.bufferedAmount >= budget) {
          blocked = true;
          break;
        }
        let bytes = 0;
        while (this.controls.length > 0 && bytes < frameBytes) bytes += push(parts, this.controls.shift()!);
        // Highest prio first, round robin within a prio (see ReadyLinks).
        if (bytes < frameBytes && this.ready.size > 0) bytes += this.ready.take(parts, frameBytes - bytes);
        if (parts.length === 0) break;
        try {
          this.send(bytes);
        } finally {
          parts.length = 0;
        }
      }
    } finally {
      this.socket.uncork();
    }
    if (blocked && (this.controls.length > 0 || this.ready.size > 0)) this.wait();
  }

  /**
   * Writes the frame(s) of `parts` to the socket in one buffer and one write: one frame
   * (`a\nb` under warp.recon, `[a,b]` under warp.json, a lone envelope as is) or, for
   * Swim clients, one frame per envelope. Encoded envelopes are shared by every
   * subscriber, so they are copied into the frame, never modified.
   */
  private send(bytes: number): void {
    if (this.ws.readyState !== WebSocket.OPEN) return; // closing: ws sent its close frame, nothing may follow
    const n = parts.length;
    this.stats.envelopesOut += n;
    let frame: Buffer;
    if (this.encoding === 'swim') {
      let size = 0;
      for (let i = 0; i < n; i++) size += headerLength(parts[i]!.length) + parts[i]!.length;
      frame = Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const p = parts[i]!;
        at = writeHeader(frame, at, p.length);
        frame.set(p, at);
        at += p.length;
      }
      this.stats.framesOut += n;
      this.stats.bytesOut += bytes;
    } else {
      const brackets = this.encoding === 'json' && n > 1;
      const payload = bytes + n - 1 + (brackets ? 2 : 0);
      frame = Buffer.allocUnsafe(headerLength(payload) + payload);
      let at = writeHeader(frame, 0, payload);
      if (brackets) frame[at++] = OPEN;
      for (let i = 0; i < n; i++) {
        if (i > 0) frame[at++] = brackets ? COMMA : NL;
        const p = parts[i]!;
        frame.set(p, at);
        at += p.length;
      }
      if (brackets) frame[at] = CLOSE;
      this.stats.framesOut++;
      this.stats.bytesOut += payload;
    }
    this.socket.write(frame);
  }

  private wait(): void {
    this.stats.budgetStalls++;
    this.waiting = true;
    if (this.socket.writableNeedDrain) {
      this.socket.once('drain', this.onDrain);
    } else {
      // Budget below the socket's high-water mark: no 'drain' will come, so look again soon.
      setTimeout(this.onDrain, 5).unref();
    }
  }
}

function push(out: Buffer[], b: Buffer): number {
  out.push(b);
  return b.length;
}
