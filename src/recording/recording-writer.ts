import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { Packr } from 'msgpackr';
import { ChunkEncoder } from './chunk-encoder.js';
import { RECORDING_MAGIC, RECORDING_VERSION, type RecordedEvent, type RecordingHeader } from './recording-format.js';

/** Strings a writer's carried table holds at most by default (see {@link RecordingWriterOptions.carryStrings}). */
export const DEFAULT_CARRY_STRINGS = 100_000;

export interface RecordingWriterOptions {
  /** Events per chunk (default 4096): bigger chunks compress strings better, smaller lose less on a crash. */
  chunkSize?: number;
  /**
   * Most strings (subjects, types, sources) the string table carried from chunk to chunk
   * holds before the next chunk starts a fresh one (default 100 000, about 10 MB of
   * 100-character paths; 0: every chunk has its own table, as format 1 did). A fleet up to
   * this many subjects has each subject stored once per file (see chunk-encoder.ts).
   */
  carryStrings?: number;
  /** Provenance stored in the header. */
  meta?: Record<string, unknown>;
  /** Mark batch starts ({@link RecordingWriter.appendBatch}); set by the recorder. */
  batches?: boolean;
  /** Wall-clock creation time for the header (default `Date.now()`; fixed by reproducible generators). */
  created?: number;
}

/**
 * Appends events to a recording file (format in `recording-format.ts`). `append` is
 * synchronous and cheap; full chunks are encoded and handed to a write stream, so the
 * recorder of a live node never blocks its event loop on disk. Await {@link ready}
 * between bursts when producing faster than the disk takes (generators, importers).
 *
 * @example
 * ```ts
 * const w = RecordingWriter.create('run.tfr', { meta: { source: 'uci' } });
 * w.append({ id: '1', source: 'uci', type: 'reading', subject: '/org/a/site/b', time: 0, data: {} });
 * await w.close();
 * ```
 */
export class RecordingWriter {
  private readonly chunks: ChunkEncoder;
  /** Events per chunk. */
  readonly chunkSize: number;
  private closed = false;
  private failure: Error | null = null;
  /** Events appended so far. */
  count = 0;

  private constructor(
    private readonly out: WriteStream,
    header: RecordingHeader,
    chunkSize: number,
    carryStrings: number,
  ) {
    this.chunkSize = chunkSize;
    this.chunks = new ChunkEncoder(carryStrings);
    out.on('error', (err) => (this.failure = err));
    const body = new Packr({ useRecords: true }).pack(header);
    const head = Buffer.alloc(8);
    head.write(RECORDING_MAGIC, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    out.write(Buffer.concat([head, body]));
  }

  /** Creates (or truncates) `path` and writes the header. */
  static create(path: string, options: RecordingWriterOptions = {}): RecordingWriter {
    const header: RecordingHeader = {
      format: RECORDING_VERSION,
      created: options.created ?? Date.now(),
      ...(options.batches ? { batches: true } : {}),
      ...(options.meta ? { meta: options.meta } : {}),
    };
    return new RecordingWriter(
      createWriteStream(path),
      header,
      options.chunkSize ?? 4096,
      options.carryStrings ?? DEFAULT_CARRY_STRINGS,
    );
  }

  append(e: RecordedEvent, batchStart = false): void {
    if (this.closed) throw new Error('the recording is closed');
    this.chunks.add(e.time, e.subject, e.type, e.source, e.id, e.data, batchStart);
    this.count++;
    if (this.chunks.size >= this.chunkSize) this.flush();
  }

  /**
   * Appends whole chunks encoded elsewhere by a {@link ChunkEncoder} (the parallel CSV
   * import encodes on worker threads): `bytes` is one or more `length | body` chunks
   * holding `events` events. Only between chunks: the open chunk must be empty, or
   * its events would land after the ones given here. Such chunks start fresh string tables
   * (`carry` 0), so the writer's next chunk starts a fresh one too.
   */
  appendEncoded(bytes: Uint8Array, events: number): void {
    if (this.closed) throw new Error('the recording is closed');
    if (this.chunks.size > 0) throw new Error('appendEncoded needs an empty open chunk: call flush() first');
    this.chunks.restart();
    this.out.write(bytes);
    this.count += events;
  }

  /** Appends the events of one batch (one ingest call), marking its first event. */
  appendBatch(events: readonly RecordedEvent[]): void {
    for (let i = 0; i < events.length; i++) this.append(events[i]!, i === 0);
  }

  /** Writes the open chunk now (a recorder calls this on a timer so a quiet stream still reaches disk). */
  flush(): void {
    const chunk = this.chunks.take();
    if (!chunk) return;
    this.out.write(chunk.length);
    this.out.write(chunk.body);
  }

  /** Resolves when the stream's buffer is below its high-water mark. */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.out.writableNeedDrain) await once(this.out, 'drain');
  }

  /** Flushes the open chunk and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failure) throw this.failure;
  }
}
