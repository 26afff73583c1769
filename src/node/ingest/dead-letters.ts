/** Where a dead letter came from: an ingest front, or an output sink that kept failing. */
export type DeadLetterOrigin = 'mqtt' | 'http' | 'output';

/** One input (or output) that could not be processed, kept so an operator can see why. */
export interface DeadLetter {
  /** Increasing per store; newest has the highest. */
  seq: number;
  /** RFC 3339 time it was recorded. */
  at: string;
  origin: DeadLetterOrigin;
  /** An {@link ErrorCode} for what twinflow refused; another string for what a sink's target answered. */
  code: string;
  message: string;
  /** MQTT topic, HTTP route, or the sink name for outputs. */
  where?: string;
  /** MQTT client id, HTTP remote address. */
  sender?: string;
  /** The twin path, when known. */
  path?: string;
  /** The CloudEvent id/source, when known. */
  id?: string;
  source?: string;
  /** The first bytes of the payload as text, and its full size. */
  preview?: string;
  size?: number;
  /** Output dead letters carry the whole derived event so it can be replayed. */
  event?: unknown;
}

export type DeadLetterInput = Omit<DeadLetter, 'seq' | 'at'>;

/**
 * The dead-letter port. The runtime ships {@link MemoryDeadLetters} (a bounded ring); a
 * durable store (LMDB) can implement the same three members.
 */
export interface DeadLetterStore {
  add(record: DeadLetterInput): void;
  /** Newest first, at most `limit`, optionally of one origin. */
  list(options?: { limit?: number; origin?: DeadLetterOrigin }): DeadLetter[];
  /** Records ever added, and how many the bound pushed out. */
  counts(): { total: number; evicted: number; retained: number };
}

/** Bytes of the payload kept in a dead letter as a text preview. */
export const PREVIEW_BYTES = 512;

/** A printable preview of the first {@link PREVIEW_BYTES} of a payload. */
export function previewOf(payload: Uint8Array | string | undefined): { preview?: string; size?: number } {
  if (payload === undefined) return {};
  if (typeof payload === 'string')
    return { preview: payload.slice(0, PREVIEW_BYTES), size: Buffer.byteLength(payload) };
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, PREVIEW_BYTES));
  return { preview: head.toString('utf8'), size: payload.byteLength };
}

/**
 * Dead letters in a fixed-size ring in memory: the newest `capacity` are kept, older ones
 * are counted as evicted. Bad input can arrive at line rate, so the bound matters more
 * than completeness; the log has every one.
 *
 * @example
 * ```ts
 * const dl = new MemoryDeadLetters(1000);
 * dl.add({ origin: 'mqtt', code: 'TWIN_PAYLOAD_INVALID', message: 'not JSON', where: 'org/x' });
 * dl.list({ limit: 10 }); // newest first
 * ```
 */
export class MemoryDeadLetters implements DeadLetterStore {
  private readonly ring: (DeadLetter | undefined)[];
  private seq = 0;

  constructor(readonly capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Array(capacity);
  }

  add(record: DeadLetterInput): void {
    const seq = ++this.seq;
    this.ring[(seq - 1) % this.capacity] = { seq, at: new Date().toISOString(), ...record };
  }

  list(options: { limit?: number; origin?: DeadLetterOrigin } = {}): DeadLetter[] {
    const limit = Math.max(0, Math.min(options.limit ?? 100, this.capacity));
    const out: DeadLetter[] = [];
    for (let s = this.seq; s > 0 && s > this.seq - this.capacity && out.length < limit; s--) {
      const r = this.ring[(s - 1) % this.capacity];
      if (r && (options.origin === undefined || r.origin === options.origin)) out.push(r);
    }
    return out;
  }

  counts(): { total: number; evicted: number; retained: number } {
    const retained = Math.min(this.seq, this.capacity);
    return { total: this.seq, evicted: this.seq - retained, retained };
  }
}
