import { availableParallelism } from 'node:os';
import { encodePlannedChunks, type EncodeTask } from './csv-chunks.js';
import { slicePlan, type CsvImportPlan } from './csv-import-plan.js';
import type { RecordingWriter } from './recording-writer.js';

/**
 * Below this many events the import runs on the calling thread: starting the pool and
 * loading the worker module costs more than encoding on one core saves (measured in
 * bench/offload.ts; see bench/README.md "offload").
 */
export const PARALLEL_MIN_EVENTS = 200_000;

/** Chunks per worker task: big enough that cloning the plan slice is noise, small enough to balance. */
const CHUNKS_PER_TASK = 16;

export interface CsvRecordingOptions {
  /** Worker threads (default: the core count, at least 1). 1 means the calling thread only. */
  threads?: number;
  /** Fewest events for which worker threads are used (default {@link PARALLEL_MIN_EVENTS}). */
  parallelFrom?: number;
}

/** What an import did. */
export interface CsvRecordingResult {
  events: number;
  /** Worker threads used (0: the calling thread encoded everything). */
  threads: number;
}

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * Writes a planned CSV import ({@link planCsvImport}) into an open recording: the same
 * events as {@link importCsv}, in the same order, in chunks, without holding them all in
 * memory. Planning first means a bad file fails before the recording is created. A large import is
 * encoded on a piscina pool: each task encodes a block of whole chunks from a slice of
 * the plan and moves the bytes back; the calling thread writes the blocks in order, so
 * the file is byte-identical to the one-thread import (determinism is a product promise).
 * The writer must be fresh (no open chunk); it is not closed here.
 *
 * @example
 * ```ts
 * const plan = planCsvImport(readFileSync('datatraining.txt', 'utf8'), UCI_MAPPING, { fanOut: 100 });
 * const writer = RecordingWriter.create('uci.tfr', { created: 0 });
 * await writeCsvImport(plan, writer);
 * await writer.close();
 * ```
 */
export async function writeCsvImport(plan: CsvImportPlan, writer: RecordingWriter, options: CsvRecordingOptions = {}): Promise<CsvRecordingResult> {
  const chunkSize = writer.chunkSize;
  const block = chunkSize * CHUNKS_PER_TASK;
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const parallel = threads > 1 && plan.events >= (options.parallelFrom ?? PARALLEL_MIN_EVENTS) && plan.events > block;
  const tasks: EncodeTask[] = [];
  for (let from = 0; from < plan.events; from += block) tasks.push({ plan, from, to: Math.min(from + block, plan.events), chunkSize });
  if (!parallel) {
    for (const task of tasks) {
      writer.appendEncoded(encodePlannedChunks(task), task.to - task.from);
      await writer.ready();
    }
    return { events: plan.events, threads: 0 };
  }
  await encodeOnPool(plan, tasks, threads, writer);
  return { events: plan.events, threads };
}

/** Runs the tasks on a pool of `threads` workers, at most two per worker in flight, and writes their bytes in task order. */
async function encodeOnPool(plan: CsvImportPlan, tasks: EncodeTask[], threads: number, writer: RecordingWriter): Promise<void> {
  // Loaded here, not at startup: every other command (and a small import) goes without it.
  const { Piscina } = await import('piscina');
  const pool = new Piscina<EncodeTask, Uint8Array>({
    filename: new URL(`./csv-import-worker${EXT}`, import.meta.url).href,
    minThreads: threads, maxThreads: threads,
    // From TypeScript sources (tests, tsx) the worker loads the task module through tsx.
    ...(EXT === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
  });
  const inFlight: Promise<Uint8Array>[] = [];
  const submit = (i: number): void => {
    const t = tasks[i]!;
    const result = pool.run({ ...t, plan: slicePlan(plan, t.from, t.to) });
    result.catch(() => {}); // seen when its turn to be written comes; not an unhandled rejection before that
    inFlight.push(result);
  };
  try {
    let next = 0;
    while (next < tasks.length && next < threads * 2) submit(next++);
    for (let i = 0; i < tasks.length; i++) {
      const bytes = await inFlight.shift()!;
      if (next < tasks.length) submit(next++);
      writer.appendEncoded(bytes, tasks[i]!.to - tasks[i]!.from);
      await writer.ready();
    }
  } finally {
    // Settle what is still running before tearing the pool down (after a failure).
    await Promise.allSettled(inFlight);
    await pool.destroy();
  }
}
