import type { DerivedEvent } from '../../model/twin-model.js';
import { TwinPath } from '../../topology/index.js';

/**
 * One derived event as `GET /signals` sends it, shared by every reader: its Server-Sent
 * Events text is encoded once, on first use, and its subject parsed once, however many
 * readers there are (each of them used to stringify and parse it again).
 *
 * @example
 * ```ts
 * const f = new SignalFrame(event);
 * f.text; // 'id: /org/a#evacuation@1\ndata: {"specversion":"1.0",…}\n\n'
 * f.path?.text; // '/org/a' (null when the subject is no twin path)
 * ```
 */
export class SignalFrame {
  private encoded: string | undefined;
  private size: number | undefined;
  private parsed: TwinPath | null | undefined;

  constructor(readonly event: DerivedEvent) {}

  /** `id:` and `data:` lines and the blank line that ends the event. */
  get text(): string {
    return (this.encoded ??= `id: ${this.event.id}\ndata: ${JSON.stringify(this.event)}\n\n`);
  }

  /** The length of {@link text} in UTF-8. */
  get bytes(): number {
    return (this.size ??= Buffer.byteLength(this.text, 'utf8'));
  }

  /** The subject as a twin path, or null when it is none (no grant or filter matches it then). */
  get path(): TwinPath | null {
    if (this.parsed === undefined) {
      try {
        this.parsed = TwinPath.parse(this.event.subject);
      } catch {
        this.parsed = null;
      }
    }
    return this.parsed;
  }
}

/**
 * Bytes one write to a reader carries at most (a larger event is written alone): a burst
 * goes out in a few writes per reader, one per turn of the event loop as its socket takes
 * them (see {@link SignalStream}).
 */
export const CHUNK_BYTES = 64 * 1024;

/**
 * The frames' text as UTF-8 chunks of at most {@link CHUNK_BYTES} bytes, in order. Buffers,
 * not strings: a socket would encode a string again for every reader, and would keep its
 * own copy of what a slow reader has not read; a buffer is written to every socket as it
 * is, and the readers that have not read it yet share it.
 */
export function chunksOf(frames: readonly SignalFrame[]): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const f of frames) {
    const bytes = f.bytes;
    if (size > 0 && size + bytes > CHUNK_BYTES) {
      chunks.push(Buffer.from(parts.join(''), 'utf8'));
      parts = [];
      size = 0;
    }
    parts.push(f.text);
    size += bytes;
  }
  if (size > 0) chunks.push(Buffer.from(parts.join(''), 'utf8'));
  return chunks;
}

/** Where a {@link SignalStream} writes: the response of one `/signals` request. */
export interface SignalSink {
  readonly destroyed: boolean;
  readonly writableLength: number;
  write(chunk: Buffer | string): boolean;
  on(event: 'drain', listener: () => void): unknown;
  destroy(): void;
}

/**
 * The writes to one reader, paced by its socket and the event loop: at most one chunk per
 * turn, and the next only once the socket took the previous one (`drain`). The rest waits
 * here as references to chunks every reader shares. So a burst to many readers costs each
 * turn one write per reader (a socket that takes every write at once would otherwise be
 * written the whole burst in one turn: `drain` comes on the same tick), and a reader that
 * stopped reading holds no copy of its own. Once more than `max` bytes wait (queued and
 * unsent), `tooSlow` runs and nothing more is written.
 *
 * @example
 * ```ts
 * const stream = new SignalStream(res, 1 << 20, () => res.destroy());
 * stream.send(chunksOf(frames));
 * ```
 */
export class SignalStream {
  private queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** The socket holds more than it wants: wait for `drain`. */
  private draining = false;
  private scheduled = false;

  constructor(
    private readonly out: SignalSink,
    private readonly max: number,
    private readonly tooSlow: () => void,
  ) {
    out.on('drain', () => {
      this.draining = false;
      this.schedule();
    });
  }

  /** Bytes written to the socket it has not taken yet, and bytes waiting here. */
  get backlog(): number {
    return this.queuedBytes + this.out.writableLength;
  }

  /** True when nothing waits, here or in the socket: a heartbeat may go out. */
  get idle(): boolean {
    return !this.draining && this.head === this.queue.length && this.out.writableLength === 0;
  }

  /** Queues the chunks and writes the first if the socket is ready and none is due; closes the stream when too far behind. */
  send(chunks: readonly Buffer[]): void {
    if (this.out.destroyed) return;
    for (const c of chunks) {
      this.queue.push(c);
      this.queuedBytes += c.length;
    }
    if (this.backlog > this.max) this.tooSlow();
    // Else now, unless a turn to come (scheduled, or after drain) writes them.
    else if (!this.draining && !this.scheduled) this.pump();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Writes up to one chunk's worth, then leaves the rest to a later turn. */
  private pump(): void {
    let written = 0;
    while (!this.draining && this.head < this.queue.length && written < CHUNK_BYTES && !this.out.destroyed) {
      const chunk = this.queue[this.head]!;
      this.queue[this.head++] = EMPTY; // the stream no longer holds it
      this.queuedBytes -= chunk.length;
      written += chunk.length;
      if (!this.out.write(chunk)) this.draining = true;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (!this.draining && !this.out.destroyed) this.schedule();
  }
}

const EMPTY = Buffer.alloc(0);
