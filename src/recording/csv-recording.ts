import { encodePlannedChunks } from './csv-chunks.js';
import type { CsvImportPlan } from './csv-import-plan.js';
import type { RecordingWriter } from './recording-writer.js';

/**
 * Chunks per block: the import encodes and writes this many chunks at a time (one write
 * of ~2 MB instead of two per chunk); any whole number of chunks gives the same file.
 */
export const CHUNKS_PER_BLOCK = 16;

/**
 * Writes a planned CSV import ({@link planCsvImport}) into an open recording: the same
 * events as {@link importCsv}, in the same order, in the same chunks as appending them one
 * by one, without ever holding them all in memory. Planning first means a bad file fails
 * before the recording is created. The writer must be fresh (no open chunk); it is not
 * closed here. Returns the number of events written.
 *
 * Encoding stays on the calling thread: encoding blocks on a piscina pool was measured
 * and does not pay on 2 cores (bench/offload.ts, README "Dependencies and why").
 *
 * @example
 * ```ts
 * const plan = planCsvImport(readFileSync('datatraining.txt', 'utf8'), UCI_MAPPING, { fanOut: 100 });
 * const writer = RecordingWriter.create('uci.tfr', { created: 0 });
 * await writeCsvImport(plan, writer); // 1,628,600
 * await writer.close();
 * ```
 */
export async function writeCsvImport(
  plan: CsvImportPlan,
  writer: RecordingWriter,
  onProgress?: (written: number) => void,
): Promise<number> {
  const { chunkSize } = writer;
  const block = chunkSize * CHUNKS_PER_BLOCK;
  for (let from = 0; from < plan.events; from += block) {
    const to = Math.min(from + block, plan.events);
    writer.appendEncoded(encodePlannedChunks({ plan, from, to, chunkSize }), to - from);
    await writer.ready();
    onProgress?.(to);
  }
  return plan.events;
}
