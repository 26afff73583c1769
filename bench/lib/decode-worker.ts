/**
 * bench offload: a piscina task that decodes recording chunks and returns the events (the
 * offload replay would need: its events are consumed on the main thread). The decoding is
 * `decodeChunks` below, which the main-thread baseline runs too.
 */
import { Unpackr } from 'msgpackr';
import type { ChunkRecord, RecordedEvent } from '../../src/recording/recording-format.js';

const unpackr = new Unpackr({ useRecords: true });

/**
 * Decodes `length | body` chunks into events the way RecordingReader does (same Unpackr
 * options, same event shape), so worker and main thread do the same work per event.
 */
export function decodeChunks(bytes: Uint8Array): RecordedEvent[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: RecordedEvent[] = [];
  for (let at = 0; at < buf.length;) {
    const len = buf.readUInt32LE(at);
    const chunk = unpackr.unpack(buf.subarray(at + 4, at + 4 + len)) as unknown[];
    at += 4 + len;
    const base = chunk[0] as number;
    const strings = chunk[1] as string[];
    // Blocks decode apart only when each chunk has its own string table, as the CSV
    // import's chunks do (chunk-encoder.ts); a writer's chunks carry theirs on.
    if (typeof strings[0] === 'number') throw new Error('a chunk carries on the string table of the chunk before');
    for (let i = 2; i < chunk.length; i++) {
      const r = chunk[i] as ChunkRecord;
      events.push({
        id: r[4],
        source: strings[r[3]]!,
        type: strings[r[2]]!,
        subject: strings[r[1]]!,
        time: base + r[0],
        data: r[5],
      });
    }
  }
  return events;
}

export default decodeChunks;
