/**
 * bench offload: `writeCsvImport` with the blocks encoded on a piscina pool, kept here as
 * the measured alternative to the product's one-thread import (it did not pay on 2 cores;
 * bench/README.md "offload"). Each task encodes a block of whole chunks from a slice of
 * the plan and moves the bytes back; the calling thread writes the blocks in order, so the
 * file is byte-identical to the one-thread import (test/integration/csv-recording.test.ts).
 */
import { Piscina } from 'piscina';
import type { EncodeTask } from '../../src/recording/csv-chunks.js';
import { slicePlan, type CsvImportPlan } from '../../src/recording/csv-import-plan.js';
import { CHUNKS_PER_BLOCK } from '../../src/recording/csv-recording.js';
import type { RecordingWriter } from '../../src/recording/recording-writer.js';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Writes the plan into `writer` with `threads` workers encoding, at most two blocks per worker in flight. */
export async function writeCsvImportOnPool(
  plan: CsvImportPlan,
  writer: RecordingWriter,
  threads: number,
): Promise<number> {
  const { chunkSize } = writer;
  const block = chunkSize * CHUNKS_PER_BLOCK;
  const tasks: EncodeTask[] = [];
  for (let from = 0; from < plan.events; from += block)
    tasks.push({ plan, from, to: Math.min(from + block, plan.events), chunkSize });
  const pool = new Piscina<EncodeTask, Uint8Array>({
    filename: new URL(`./import-worker${EXT}`, import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // From TypeScript sources (tests) the worker loads the task module through tsx.
    ...(EXT === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
  });
  const inFlight: Promise<Uint8Array>[] = [];
  const submit = (t: EncodeTask): void => {
    const result = pool.run({ ...t, plan: slicePlan(plan, t.from, t.to) });
    result.catch(() => {}); // seen when its turn to be written comes; not an unhandled rejection before that
    inFlight.push(result);
  };
  try {
    let next = 0;
    while (next < tasks.length && next < threads * 2) submit(tasks[next++]!);
    for (const t of tasks) {
      const bytes = await inFlight.shift()!;
      if (next < tasks.length) submit(tasks[next++]!);
      writer.appendEncoded(bytes, t.to - t.from);
      await writer.ready();
    }
  } finally {
    await Promise.allSettled(inFlight);
    await pool.destroy();
  }
  return plan.events;
}
