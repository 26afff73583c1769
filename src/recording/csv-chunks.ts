import { ChunkEncoder } from './chunk-encoder.js';
import { forEachPlannedEvent, type CsvImportPlan } from './csv-import-plan.js';

/** Events [from, to) of a planned import, encoded as recording chunks of `chunkSize` events. */
export interface EncodeTask {
  plan: CsvImportPlan;
  from: number;
  to: number;
  chunkSize: number;
}

/**
 * Encodes a block of a planned import as `length | body` recording chunks, the bytes a
 * {@link RecordingWriter} would write for the same events. `from` must be a multiple of
 * `chunkSize` (a block starts a chunk), so blocks encoded anywhere, in any order,
 * concatenate to the sequential file. The result owns its ArrayBuffer, so a worker can
 * transfer it (bench/lib/import-worker.ts does).
 *
 * @example
 * ```ts
 * const bytes = encodePlannedChunks({ plan, from: 0, to: plan.events, chunkSize: 4096 });
 * writer.appendEncoded(bytes, plan.events);
 * ```
 */
export function encodePlannedChunks({ plan, from, to, chunkSize }: EncodeTask): Uint8Array {
  if (from % chunkSize !== 0)
    throw new RangeError(`a block must start a chunk: ${from} is not a multiple of ${chunkSize}`);
  const encoder = new ChunkEncoder();
  const parts: Buffer[] = [];
  let total = 0;
  const take = (): void => {
    const chunk = encoder.take();
    if (!chunk) return;
    parts.push(chunk.length, chunk.body);
    total += chunk.length.length + chunk.body.length;
  };
  forEachPlannedEvent(plan, from, to, (time, subject, id, data) => {
    encoder.add(time, subject, 'reading', plan.source, id, data);
    if (encoder.size >= chunkSize) take();
  });
  take();
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}
