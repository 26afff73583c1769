import { open, type FileHandle } from 'node:fs/promises';
import { Unpackr } from 'msgpackr';
import {
  RECORDING_MAGIC,
  RECORDING_VERSION,
  type ChunkRecord,
  type RecordedEvent,
  type RecordingHeader,
} from './recording-format.js';

const BLOCK = 1 << 20;

/**
 * Reads a recording chunk by chunk (format in `recording-format.ts`), holding one block
 * of the file in memory at a time. A file cut short inside a chunk (a recorder killed
 * mid-write) ends at the last whole chunk and sets {@link truncated}.
 *
 * @example
 * ```ts
 * const r = await RecordingReader.open('run.tfr');
 * for await (const chunk of r.chunks()) for (const e of chunk) console.log(e.subject, e.time);
 * await r.close();
 * ```
 */
export class RecordingReader {
  private readonly unpackr = new Unpackr({ useRecords: true });
  private buf: Buffer = Buffer.alloc(0);
  private fileOffset = 0;
  /** Bytes of the file consumed so far (header included): progress is `position / size`. */
  position = 0;
  /** True once reading stopped at an incomplete final chunk. */
  truncated = false;

  private constructor(
    private readonly file: FileHandle,
    readonly size: number,
    readonly header: RecordingHeader,
  ) {}

  /** Opens `path` and reads its header; throws on a file that is not a recording or is too new. */
  static async open(path: string): Promise<RecordingReader> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const head = Buffer.alloc(8);
      const { bytesRead } = await file.read(head, 0, 8, 0);
      if (bytesRead < 8 || head.toString('latin1', 0, 4) !== RECORDING_MAGIC)
        throw new Error(`${path} is not a twinflow recording`);
      const len = head.readUInt32LE(4);
      const body = Buffer.alloc(len);
      await file.read(body, 0, len, 8);
      const header = new Unpackr().unpack(body) as RecordingHeader;
      if (typeof header.format !== 'number' || header.format > RECORDING_VERSION) {
        throw new Error(
          `${path} has recording format ${String(header.format)}; this build reads up to ${RECORDING_VERSION}`,
        );
      }
      const reader = new RecordingReader(file, size, header);
      reader.fileOffset = reader.position = 8 + len;
      return reader;
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /**
   * The events in recorded (arrival) order: one array per decoded chunk, or with
   * `byBatch` (recordings with `batches: true`) one array per recorded batch.
   */
  async *chunks(byBatch = false): AsyncGenerator<RecordedEvent[]> {
    if (byBatch) {
      yield* this.batches();
      return;
    }
    for await (const { events } of this.decoded()) yield events;
  }

  private async *batches(): AsyncGenerator<RecordedEvent[]> {
    let batch: RecordedEvent[] = [];
    for await (const { events, starts } of this.decoded()) {
      let from = 0;
      for (const s of starts) {
        if (s > from) batch.push(...events.slice(from, s));
        if (batch.length > 0) yield batch;
        batch = [];
        from = s;
      }
      batch.push(...events.slice(from));
    }
    if (batch.length > 0) yield batch;
  }

  private async *decoded(): AsyncGenerator<{ events: RecordedEvent[]; starts: number[] }> {
    for (;;) {
      if (this.buf.length < 4 && !(await this.fill(4))) break;
      const len = this.buf.readUInt32LE(0);
      if (this.buf.length < 4 + len && !(await this.fill(4 + len))) {
        this.truncated = true;
        break;
      }
      const decoded = this.unpackr.unpack(this.buf.subarray(4, 4 + len)) as unknown[];
      this.buf = this.buf.subarray(4 + len);
      this.position += 4 + len;
      yield toEvents(decoded);
    }
    if (this.buf.length > 0) this.truncated = true;
  }

  /** Every event, one at a time (convenience over {@link chunks}). */
  async *events(): AsyncGenerator<RecordedEvent> {
    for await (const chunk of this.chunks()) yield* chunk;
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /** Reads until `need` bytes are buffered; false at end of file. */
  private async fill(need: number): Promise<boolean> {
    let rest = this.buf;
    while (rest.length < need) {
      const block = Buffer.allocUnsafe(Math.max(BLOCK, need - rest.length));
      const { bytesRead } = await this.file.read(block, 0, block.length, this.fileOffset);
      if (bytesRead === 0) {
        this.buf = rest;
        return false;
      }
      this.fileOffset += bytesRead;
      rest = rest.length === 0 ? block.subarray(0, bytesRead) : Buffer.concat([rest, block.subarray(0, bytesRead)]);
    }
    this.buf = rest;
    return true;
  }
}

function toEvents(chunk: unknown[]): { events: RecordedEvent[]; starts: number[] } {
  const base = chunk[0] as number;
  const strings = chunk[1] as string[];
  const events: RecordedEvent[] = new Array(chunk.length - 2);
  const starts: number[] = [];
  for (let i = 2; i < chunk.length; i++) {
    const r = chunk[i] as ChunkRecord;
    events[i - 2] = {
      id: r[4],
      source: strings[r[3]]!,
      type: strings[r[2]]!,
      subject: strings[r[1]]!,
      time: base + r[0],
      data: r[5],
    };
    if (r.length > 6) starts.push(i - 2);
  }
  return { events, starts };
}
