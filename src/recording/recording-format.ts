/**
 * The recording format (`.tfr`): the stream of ingested events of a runtime, in arrival
 * order, as length-prefixed msgpack chunks. Layout (all integers little-endian u32):
 *
 * ```
 * "TFRC" | headerLength | msgpack(RecordingHeader)
 * chunkLength | msgpack([baseTime, strings, record, record, …])   (repeated)
 * strings = [s0, s1, …]               a fresh table: index i is si
 *         | [n, sn, sn+1, …]          (format 2) the table so far (n strings) carried on, these added
 * record = [time - baseTime, subjectIndex, typeIndex, sourceIndex, id, data(, 1)]
 * ```
 *
 * A trailing `1` marks the first event of a batch (one ingest call of the recorded
 * runtime) in recordings whose header says `batches: true`; replay runs each batch as
 * one step, as the live runtime did.
 *
 * Why this shape: subjects, types and sources repeat and are stored once in the string
 * table; times are small deltas; msgpackr records are defined inline in each chunk. A
 * writer carries the table from chunk to chunk (format 2, see chunk-encoder.ts), so a
 * fleet's subjects are stored once per file, not once per chunk; a chunk with a fresh table
 * is self-contained (the CSV import's chunks all are). A crash while recording loses at most
 * the open chunk. See docs/replay.md.
 */
import type { TwinEvent } from '../model/twin-model.js';

/** First four bytes of every recording. */
export const RECORDING_MAGIC = 'TFRC';
/**
 * Version of the layout above; readers refuse newer versions. 2: string tables carried
 * between chunks (a format-1 file is read as it is: all its tables are fresh).
 */
export const RECORDING_VERSION = 2;

/**
 * Bounds of a carried string table, checked by readers (a damaged or hostile file must not
 * grow it without end): a chunk may carry on a table of at most this many strings ...
 */
export const MAX_CARRIED_STRINGS = 1 << 20;
/** ... and of at most this many UTF-16 units in all. Writers carry a quarter of it. */
export const MAX_CARRIED_CHARS = 64 * 1024 * 1024;

/** The header written once at the start of a recording. */
export interface RecordingHeader {
  /** Layout version ({@link RECORDING_VERSION} when written by this build). */
  format: number;
  /** Wall-clock time the recording was created (epoch ms). */
  created: number;
  /** Records mark batch starts (recorded from a runtime); absent: steps come from event time. */
  batches?: boolean;
  /** Free-form provenance: the command, generator seed, CSV file, … */
  meta?: Record<string, unknown>;
}

/** One recorded event: a normalised {@link TwinEvent} (time in epoch ms). */
export type RecordedEvent = TwinEvent;

/** Chunk records are arrays: [timeDelta, subject, type, source, id, data, batchStart?]. */
export type ChunkRecord =
  [number, number, number, number, string, unknown] | [number, number, number, number, string, unknown, 1];
