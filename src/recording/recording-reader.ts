import { open, type FileHandle } from 'node:fs/promises';
import { Unpackr } from 'msgpackr';
import { TwinError } from '../errors.js';
import {
  MAX_CARRIED_CHARS,
  MAX_CARRIED_STRINGS,
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
 * Files are untrusted input (copied, downloaded, cut, bit-rotted): every failure is one
 * `TwinError` `TWIN_RECORDING_INVALID` naming the file and the offset, never a msgpack or
 * type error, and no length field is trusted beyond the file's size (a flipped bit in one
 * must not allocate gigabytes). test/fuzz/recording-reader.fuzz.test.ts holds it to that.
 *
 * @example
 * ```ts
 * const r = await RecordingReader.open('run.tfr');
 * for await (const chunk of r.chunks()) for (const e of chunk) console.log(e.subject, e.time);
 * await r.close();
 * ```
 */
export class RecordingReader {
  /**
   * Records (what the writer uses) and plain msgpack maps, as objects: a recording made by
   * another msgpack writer has maps, which msgpackr with records on decodes as `Map`s (an
   * event's data then exported as `{}` and refused by the replay).
   */
  private readonly unpackr = new Unpackr({ useRecords: true, mapsAsObjects: true });
  private buf: Buffer = Buffer.alloc(0);
  private fileOffset = 0;
  /** Bytes of the file consumed so far (header included): progress is `position / size`. */
  position = 0;
  /**
   * True once reading stopped inside a chunk: the file was cut short, or a chunk length was
   * damaged so that it points past the end of the file ({@link damaged} tells them apart
   * where it can). The events before that chunk were read.
   */
  truncated = false;
  /**
   * True when the stop is known to be damage, not a cut: the chunk's length points past the
   * end of the file, yet a whole chunk (one msgpack value) ends before the file does.
   */
  damaged = false;
  /** Byte offset of the chunk reading stopped in (when {@link truncated}). */
  truncatedAt = -1;
  /** The string table the last chunk left, which the next chunk may carry on (format 2). */
  private readonly table = new StringTable();

  private constructor(
    private readonly file: FileHandle,
    readonly size: number,
    readonly header: RecordingHeader,
    private readonly path: string,
  ) {}

  /**
   * Opens `path` and reads its header.
   *
   * @throws {TwinError} `TWIN_RECORDING_INVALID` for a file that is not a recording, has a
   * damaged header or a newer format.
   */
  static async open(path: string): Promise<RecordingReader> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const head = Buffer.alloc(8);
      const { bytesRead } = await file.read(head, 0, 8, 0);
      if (bytesRead < 8 || head.toString('latin1', 0, 4) !== RECORDING_MAGIC)
        throw invalid(path, 0, 'is not a twinflow recording');
      const len = head.readUInt32LE(4);
      if (len > size - 8) throw invalid(path, 4, `has a header of ${len} bytes but only ${size - 8} follow`);
      const body = Buffer.alloc(len);
      await file.read(body, 0, len, 8);
      const header = unpack(new Unpackr({ mapsAsObjects: true }), body, path, 8) as RecordingHeader;
      if (header === null || typeof header !== 'object' || !Number.isInteger(header.format) || header.format < 1)
        throw invalid(path, 8, 'has a damaged header');
      if (header.format > RECORDING_VERSION) {
        throw invalid(path, 8, `has recording format ${header.format}; this build reads up to ${RECORDING_VERSION}`);
      }
      const reader = new RecordingReader(file, size, header, path);
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
      // A length past the end of the file is a cut (or a damaged length): never buffered.
      if (4 + len > this.size - this.position || (this.buf.length < 4 + len && !(await this.fill(4 + len)))) {
        this.truncated = true;
        this.truncatedAt = this.position;
        this.damaged = endsBeforeFile(this.buf.subarray(4));
        break;
      }
      const at = this.position + 4;
      const decoded = unpack(this.unpackr, this.buf.subarray(4, 4 + len), this.path, at);
      this.buf = this.buf.subarray(4 + len);
      this.position += 4 + len;
      yield toEvents(decoded, this.table, this.path, at);
    }
    if (this.buf.length > 0 && !this.truncated) {
      this.truncated = true;
      this.truncatedAt = this.position;
    }
  }

  /**
   * Why reading stopped before the end of the file, in one sentence naming the file and the
   * byte offset, or null when it read to the end (or is not done).
   */
  stopReason(): string | null {
    if (!this.truncated) return null;
    return this.damaged
      ? `${this.path} is damaged: the chunk length at byte ${this.truncatedAt} points past the end of the file, but the chunk ends before it`
      : `${this.path} ended inside a chunk at byte ${this.truncatedAt}: cut short or damaged`;
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

/**
 * Whether `bytes` (what is buffered of the rest of the file after a chunk length pointing
 * past its end) start with one whole msgpack value followed by more bytes: the chunk is
 * complete and shorter than its length says, so the length is damaged rather than the
 * file cut. Only on that path, on at most one buffered block, with a fresh decoder (record
 * structures are defined inline in each chunk). False when it cannot tell.
 */
function endsBeforeFile(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  try {
    new Unpackr({ useRecords: true }).unpack(bytes);
    return false; // exactly one value up to the end of the buffer: cannot tell
  } catch (err) {
    return /end of buffer not reached/.test((err as Error).message);
  }
}

function invalid(path: string, offset: number, reason: string): TwinError {
  return new TwinError('TWIN_RECORDING_INVALID', `${path} ${reason} (at byte ${offset})`, { path, offset, reason });
}

/** msgpack decoding, its every failure (msgpackr throws Error, RangeError, …) as TWIN_RECORDING_INVALID. */
function unpack(unpackr: Unpackr, bytes: Buffer, path: string, offset: number): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch (err) {
    throw invalid(path, offset, `has a damaged chunk: ${(err as Error).message}`);
  }
}

/**
 * The string table of the chunks read so far. A chunk's `strings` either replaces it (a
 * fresh table) or, led by the table's length, adds to it (carried on, format 2): the length
 * must be the table's, so a chunk cut out of its file or read out of order is damaged, not
 * read with the wrong strings. A carried-on table is bounded (recording-format.ts).
 */
class StringTable {
  strings: string[] = [];
  private chars = 0;

  /** Takes a chunk's `strings`; returns why it is damaged, or null. */
  take(raw: unknown[]): string | null {
    const carried = typeof raw[0] === 'number';
    if (carried) {
      const n = raw[0] as number;
      if (n !== this.strings.length)
        return `its string table carries on ${String(n)} strings, but the chunks before it left ${this.strings.length}`;
      if (n > MAX_CARRIED_STRINGS || this.chars > MAX_CARRIED_CHARS)
        return `its string table carries on more than ${MAX_CARRIED_STRINGS} strings or ${MAX_CARRIED_CHARS} characters`;
    } else {
      this.strings = [];
      this.chars = 0;
    }
    for (let i = carried ? 1 : 0; i < raw.length; i++) {
      const s = raw[i];
      if (typeof s !== 'string') return 'the string table is not a list of strings';
      this.strings.push(s);
      this.chars += s.length;
    }
    return null;
  }
}

/**
 * The events of a decoded chunk, checked against the layout (recording-format.ts): a chunk
 * that decodes as msgpack but is not `[base, strings, ...records]` is damaged, and so is a
 * record whose string index points nowhere.
 */
function toEvents(
  decoded: unknown,
  table: StringTable,
  path: string,
  offset: number,
): { events: RecordedEvent[]; starts: number[] } {
  const damaged = (what: string) => invalid(path, offset, `has a damaged chunk: ${what}`);
  if (!Array.isArray(decoded) || decoded.length < 2) throw damaged('not [baseTime, strings, ...records]');
  const chunk = decoded as unknown[];
  const base = chunk[0];
  if (typeof base !== 'number' || !Number.isFinite(base)) throw damaged('the base time is not a number');
  if (!Array.isArray(chunk[1])) throw damaged('the string table is not a list of strings');
  const problem = table.take(chunk[1] as unknown[]);
  if (problem) throw damaged(problem);
  const strings = table.strings;
  const text = (i: unknown): string => {
    const s: unknown = typeof i === 'number' ? strings[i] : undefined;
    if (typeof s === 'string') return s;
    throw damaged(`string index ${String(i)} of ${strings.length}`);
  };
  const events: RecordedEvent[] = new Array(chunk.length - 2);
  const starts: number[] = [];
  for (let i = 2; i < chunk.length; i++) {
    const r = chunk[i] as ChunkRecord;
    if (!Array.isArray(r) || r.length < 6 || typeof r[0] !== 'number' || typeof r[4] !== 'string')
      throw damaged(`record ${i - 2} is not [timeDelta, subject, type, source, id, data]`);
    const time = base + r[0];
    if (!Number.isFinite(time)) throw damaged(`record ${i - 2} has no finite time`);
    events[i - 2] = { id: r[4], source: text(r[3]), type: text(r[2]), subject: text(r[1]), time, data: r[5] };
    if (r.length > 6) {
      // The writer marks a recorded batch's first event with a 7th element, 1 (ChunkEncoder).
      if (r.length > 7 || r[6] !== 1) throw damaged(`record ${i - 2} has a batch mark that is not 1`);
      starts.push(i - 2);
    }
  }
  return { events, starts };
}
