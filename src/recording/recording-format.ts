/**
 * The recording format (`.tfr`): the stream of ingested events of a runtime, in arrival
 * order, as length-prefixed msgpack chunks. Layout (all integers little-endian u32):
 *
 * ```
 * "TFRC" | headerLength | msgpack(RecordingHeader)
 * chunkLength | msgpack([baseTime, strings[], record, record, …])   (repeated)
 * record = [time - baseTime, subjectIndex, typeIndex, sourceIndex, id, data(, 1)]
 * ```
 *
 * A trailing `1` marks the first event of a batch (one ingest call of the recorded
 * runtime) in recordings whose header says `batches: true`; replay runs each batch as
 * one step, as the live runtime did.
 *
 * Why this shape: a chunk is self-contained (msgpackr records are defined inline), so a
 * reader can start at any chunk and a crash while recording loses at most the open chunk;
 * subjects, types and sources repeat within a chunk and are stored once in `strings`;
 * times are small deltas. See docs/replay.md.
 */
import type { TwinEvent } from '../model/twin-model.js';

/** First four bytes of every recording. */
export const RECORDING_MAGIC = 'TFRC';
/** Version of the layout above; readers refuse newer versions. */
export const RECORDING_VERSION = 1;

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
