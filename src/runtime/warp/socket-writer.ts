import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { WarpEncoding } from '../../lanes/warp/index.js';
import type { WarpLimits, WarpStats } from './limits.js';
import type { Uplink } from './uplink.js';

const NL = Buffer.from('\n');
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * Writes a socket's output within its send budget. Work is gathered from the socket's
 * control queue (replies, errors) and its ready links, round robin, into frames of about
 * `frameBytes` (several envelopes per frame in the batching encodings; one per frame,
 * corked into few TCP writes, for Swim clients). When ws' `bufferedAmount` reaches the
 * budget it stops and waits for the socket to drain; meanwhile new lane events conflate
 * in the links instead of queueing here, which is what bounds a slow reader's memory.
 *
 * @example
 * ```ts
 * const writer = new SocketWriter(ws, socket, 'json', DEFAULT_WARP_LIMITS, newWarpStats());
 * writer.control(Buffer.from('{"tag":"authed"}'));
 * ```
 */
export class SocketWriter {
  private readonly ready = new Set<Uplink>();
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
    for (const up of this.ready) events += up.pendingEvents;
    return { bufferedBytes: this.ws.bufferedAmount, events };
  }

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

  private schedule(): void {
    if (this.scheduled || this.waiting || this.closed) return;
    this.scheduled = true;
    // A microtask runs after the whole shard step that woke us: one flush per step.
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
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
        const parts: Buffer[] = [];
        let bytes = 0;
        while (this.controls.length > 0 && bytes < frameBytes) bytes += push(parts, this.controls.shift()!);
        for (const up of this.ready) {
          if (bytes >= frameBytes) break;
          bytes += up.take(parts, frameBytes - bytes);
          this.ready.delete(up);
          if (!up.idle) this.ready.add(up); // to the back of the line: round robin
        }
        if (parts.length === 0) break;
        this.send(parts, bytes);
      }
    } finally {
      this.socket.uncork();
    }
    if (blocked && (this.controls.length > 0 || this.ready.size > 0)) this.wait();
  }

  private send(parts: Buffer[], bytes: number): void {
    this.stats.envelopesOut += parts.length;
    if (this.encoding === 'swim') {
      for (const p of parts) this.ws.send(p, { binary: false });
      this.stats.framesOut += parts.length;
      this.stats.bytesOut += bytes;
      return;
    }
    // One envelope goes out as the shared buffer itself: no copy on the fan-out path.
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(this.join(parts));
    this.ws.send(frame, { binary: false });
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
  }

  private join(parts: Buffer[]): Buffer[] {
    const json = this.encoding === 'json';
    const out: Buffer[] = json ? [OPEN] : [];
    parts.forEach((p, i) => {
      if (i > 0) out.push(json ? COMMA : NL);
      out.push(p);
    });
    if (json) out.push(CLOSE);
    return out;
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
