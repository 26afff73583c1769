import { Packr } from 'msgpackr';
import type { ChunkRecord } from './recording-format.js';

/**
 * Builds the chunks of a recording (layout in `recording-format.ts`): events go in, and
 * {@link take} returns the open chunk as its length prefix and msgpack body. Shared by the
 * {@link RecordingWriter} and the CSV import's block encoder (`csv-chunks.ts`), so a chunk
 * encoded apart (in a block, on another thread) has the same bytes as one the writer
 * encodes: a chunk depends only on its own events (its string table and msgpackr records
 * are defined inside it).
 *
 * @example
 * ```ts
 * const enc = new ChunkEncoder();
 * enc.add(0, '/org/a/site/b', 'reading', 'uci', '1', { t: 21 });
 * const bytes = enc.take(); // u32 length + msgpack([baseTime, strings, record])
 * ```
 */
export class ChunkEncoder {
  private readonly packr = new Packr({ useRecords: true });
  private records: ChunkRecord[] = [];
  private strings: string[] = [];
  private index = new Map<string, number>();
  private baseTime = 0;

  /** Events in the open chunk. */
  get size(): number {
    return this.records.length;
  }

  /** Adds one event to the open chunk (fields as in {@link RecordedEvent}, no object needed). */
  add(
    time: number,
    subject: string,
    type: string,
    source: string,
    id: string,
    data: unknown,
    batchStart = false,
  ): void {
    if (this.records.length === 0) this.baseTime = time;
    const r: ChunkRecord = [
      time - this.baseTime,
      this.intern(subject),
      this.intern(type),
      this.intern(source),
      id,
      data,
    ];
    if (batchStart) r.push(1);
    this.records.push(r);
  }

  /** The open chunk as `u32 length | body` (null when empty); the next event starts a new chunk. */
  take(): { length: Buffer; body: Buffer } | null {
    if (this.records.length === 0) return null;
    const body = this.packr.pack([this.baseTime, this.strings, ...this.records]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(body.length, 0);
    this.records = [];
    this.strings = [];
    this.index = new Map();
    return { length, body };
  }

  private intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}
