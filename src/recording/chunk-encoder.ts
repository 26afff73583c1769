import { Packr } from 'msgpackr';
import { MAX_CARRIED_CHARS, MAX_CARRIED_STRINGS, type ChunkRecord } from './recording-format.js';

/** A writer carries at most this many UTF-16 units of strings (a quarter of what readers accept). */
const CARRY_CHARS = MAX_CARRIED_CHARS / 4;

/**
 * Builds the chunks of a recording (layout in `recording-format.ts`): events go in, and
 * {@link take} returns the open chunk as its length prefix and msgpack body.
 *
 * The string table (subjects, types, sources) either starts fresh in every chunk (`carry`
 * 0: a chunk depends only on its own events, so the CSV import's blocks, encoded apart on
 * other threads, have the bytes a sequential import writes) or is carried from chunk to
 * chunk (the {@link RecordingWriter}): a chunk then holds only the strings no earlier chunk
 * of the table held. A fleet's subjects are then written once per file instead of once per
 * chunk (a 40 k-sensor fleet reports each sensor about once per 10 chunks), and a reader
 * hands out one string per subject, which the runtime looks up by identity instead of
 * hashing and comparing a fresh copy per event. Past `carry` strings the next chunk starts
 * a fresh table, so writer and reader hold a bounded table.
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
  /** The running table: strings of earlier chunks (the first {@link carried}) and of this one. */
  private strings: string[] = [];
  private index = new Map<string, number>();
  /** Strings of the table that earlier chunks wrote (0: this chunk starts a fresh table). */
  private carried = 0;
  /** UTF-16 units in the table, for the char bound of carrying. */
  private chars = 0;
  private baseTime = 0;

  /**
   * @param carry most strings a table may hold and still be carried to the next chunk (0:
   * every chunk self-contained); at most {@link MAX_CARRIED_STRINGS}.
   */
  constructor(private readonly carry = 0) {
    if (!(carry >= 0 && carry <= MAX_CARRIED_STRINGS))
      throw new RangeError(`carry must be within 0..${MAX_CARRIED_STRINGS}, not ${carry}`);
  }

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
    const own = this.carried === 0 ? this.strings : [this.carried, ...this.strings.slice(this.carried)];
    const body = this.packr.pack([this.baseTime, own, ...this.records]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(body.length, 0);
    this.records = [];
    if (this.strings.length <= this.carry && this.chars <= CARRY_CHARS) this.carried = this.strings.length;
    else this.restart();
    return { length, body };
  }

  /** The next chunk starts a fresh table (after chunks encoded elsewhere were written between). */
  restart(): void {
    this.strings = [];
    this.index = new Map();
    this.carried = 0;
    this.chars = 0;
  }

  private intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.chars += s.length;
      this.index.set(s, i);
    }
    return i;
  }
}
