import { joinFrame, type WarpEncoding } from '../protocol/warp/index.js';
import { ClientError } from './client-options.js';
import { Fifo, utf8Length } from './fifo.js';
import type { WebSocketLike } from './types.js';

/**
 * What a queued envelope is, for what a reconnect does with it: `link` (link, sync,
 * unlink) and `auth` (auth, deauth) are superseded by what the client sends first on every
 * new socket (its credentials, then a relink of every open link), so queued ones are
 * dropped then; `other` (commands) wait and go out after them, in order.
 */
export type OutgoingKind = 'link' | 'auth' | 'other';

/** One envelope waiting to be sent, with its UTF-8 size. */
interface Outgoing {
  readonly text: string;
  readonly bytes: number;
  readonly kind: OutgoingKind;
}

/** Frames handed to the socket ahead of the network: at most this many times `maxFrameBytes` unwritten. */
const SEND_AHEAD_FRAMES = 4;
/** How often a flush held back by a full socket buffer looks again (WebSocket has no drain event). */
const FLUSH_RETRY_MS = 10;

export interface SendQueueLimits {
  /** Largest frame the client sends (batches of envelopes up to this size). */
  readonly maxFrameBytes: number;
  /** Largest frame the server takes: a single envelope past it is refused at once. */
  readonly serverMaxFrameBytes: number;
  /** Bytes of commands and auths that may wait for a socket; past it they are refused. */
  readonly maxQueuedBytes: number;
}

/**
 * The client's outgoing envelopes: bounded while no socket takes them, handed to the socket
 * in batched frames of at most `maxFrameBytes` (the server reads warp.recon and warp.json
 * batches and refuses frames past its limit), and only while the socket's unwritten bytes
 * stay below a few frames. The rest waits here, so a dropped socket loses at most what was
 * handed over, and what waits is bounded by `maxQueuedBytes`.
 *
 * @example
 * ```ts
 * const q = new SendQueue('json', limits, () => socket);
 * q.push(text, 'other', 'command'); // throws CLIENT_QUEUE_FULL past the bound
 * q.flushSoon();
 * ```
 */
export class SendQueue {
  private readonly queue = new Fifo<Outgoing>();
  /** Bytes of queued `other` and `auth` envelopes (links are few, and rebuilt on reconnect). */
  private queuedBytes = 0;
  private flushQueued = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly encoding: WarpEncoding,
    private readonly limits: SendQueueLimits,
    private readonly socket: () => WebSocketLike | null,
  ) {}

  /** Envelopes a closing socket would drop: those not superseded on reconnect. */
  get waiting(): number {
    return this.queue.items().filter((m) => m.kind === 'other').length;
  }

  /** Throws CLIENT_ENVELOPE_TOO_LARGE for an envelope the server would refuse (it closes the socket on one). */
  checkSize(bytes: number, what: string): void {
    if (bytes > this.limits.serverMaxFrameBytes)
      throw new ClientError(
        'CLIENT_ENVELOPE_TOO_LARGE',
        `${what} not sent: its envelope is ${bytes} bytes, the server takes frames of at most ${this.limits.serverMaxFrameBytes} (serverMaxFrameBytes)`,
      );
  }

  /**
   * Queues an envelope. One the caller named (`what`: a command, an `@auth`) is checked
   * first: one the server would refuse, or past `maxQueuedBytes`, throws instead. `state`
   * is the client's, for the message.
   */
  push(text: string, kind: OutgoingKind, what: string | undefined, state: string): void {
    const bytes = utf8Length(text);
    if (what !== undefined) {
      this.checkSize(bytes, what);
      if (this.queuedBytes + bytes > this.limits.maxQueuedBytes)
        throw new ClientError(
          'CLIENT_QUEUE_FULL',
          `${what} not sent: ${this.queuedBytes} bytes are already waiting for the socket (maxQueuedBytes ${this.limits.maxQueuedBytes}, client ${state})`,
        );
    }
    if (kind !== 'link') this.queuedBytes += bytes;
    this.queue.push({ text, bytes, kind });
  }

  /** Flushes in a microtask (envelopes queued in one run of the caller share frames). */
  flushSoon(): void {
    if (this.flushQueued || this.flushTimer !== null) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /**
   * A new socket opened: `first` (the credentials, then a relink of every link) goes
   * ahead of the commands that waited; links and auths queued meanwhile are dropped, as
   * `first` supersedes them.
   */
  reopen(first: readonly { text: string; kind: OutgoingKind }[]): void {
    const waited = this.queue.drain().filter((m) => m.kind === 'other');
    this.queuedBytes = 0;
    for (const m of first) this.push(m.text, m.kind, undefined, 'open');
    for (const m of waited) this.push(m.text, m.kind, undefined, 'open');
    this.flush();
  }

  /** The socket closed: a flush waiting for its buffer to drain waits no more. */
  socketClosed(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Drops everything (the client closed). */
  clear(): void {
    this.socketClosed();
    this.queue.clear();
    this.queuedBytes = 0;
  }

  /** Hands queued envelopes to the socket, a frame at a time, while its buffer has room. */
  flush(): void {
    this.flushQueued = false;
    this.flushTimer = null;
    const socket = this.socket();
    if (!socket || socket.readyState !== 1) return;
    const ahead = SEND_AHEAD_FRAMES * this.limits.maxFrameBytes;
    while (this.queue.size > 0) {
      if ((socket.bufferedAmount ?? 0) >= ahead) {
        this.flushTimer = setTimeout(() => this.flush(), FLUSH_RETRY_MS);
        return;
      }
      socket.send(this.nextFrame());
    }
  }

  /** Takes the next frame's envelopes off the queue: at least one, within maxFrameBytes. */
  private nextFrame(): string {
    const parts: string[] = [];
    let size = 0;
    for (let m = this.queue.peek(); m !== undefined; m = this.queue.peek()) {
      // Joined with '\n' (recon) or ',' inside '[…]' (json, two parts or more).
      const extra = parts.length === 0 ? 0 : this.encoding === 'json' && parts.length === 1 ? 3 : 1;
      if (parts.length > 0 && size + extra + m.bytes > this.limits.maxFrameBytes) break;
      this.queue.shift();
      if (m.kind !== 'link') this.queuedBytes -= m.bytes;
      parts.push(m.text);
      size += extra + m.bytes;
    }
    return joinFrame(parts, this.encoding);
  }
}
