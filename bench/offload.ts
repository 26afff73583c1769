/**
 * offload: what piscina (worker threads for stateless CPU work) would buy, the evidence
 * for where the product uses it and where not (README "Dependencies and why").
 * - import: the UCI file with --fan-out 100 (1.63 M events; quick: 25, 407 k) planned and
 *   written by `writeCsvImport` on the calling thread (baseline: what `twinflow import`
 *   does) against the same blocks encoded on a pool of core-count workers and moved back
 *   (ours: bench/lib/parallel-import.ts); both files must be the same bytes. Also a small
 *   input (fan-out 10, 163 k events), where starting the pool weighs most.
 * - decode: the chunks of that recording decoded on the main thread (baseline: what replay
 *   does) against decoded in a pool with the events returned to the main thread (ours),
 *   the figure that says why replay does not offload its decoding.
 * Runs alternate (baseline, ours, baseline, ours, …) so a machine shared with other work
 * drifts on both sides alike.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { UCI_MAPPING } from '../src/recording/csv-mapping.js';
import { planCsvImport } from '../src/recording/csv-import-plan.js';
import { writeCsvImport } from '../src/recording/csv-recording.js';
import { RecordingReader } from '../src/recording/recording-reader.js';
import { RecordingWriter } from '../src/recording/recording-writer.js';
import { decodeChunks } from './lib/decode-worker.js';
import { writeCsvImportOnPool } from './lib/parallel-import.js';
import type { BenchContext, Figure } from './lib/harness.js';

const UCI = fileURLToPath(new URL('../../test/fixtures/uci-occupancy/datatraining.txt', import.meta.url));
const THREADS = Math.max(1, availableParallelism());

/** Runs `a` and `b` alternately, `runs` times each after one warm-up of each. */
async function alternate(
  runs: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  await a();
  await b();
  const as: number[] = [],
    bs: number[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [as, bs];
}

/**
 * Events/s of one import of `fanOut` copies into `file` (planning and file writing
 * included), on the calling thread (threads 0) or with `threads` pool workers encoding.
 */
async function importRate(text: string, fanOut: number, file: string, threads: number): Promise<number> {
  const t0 = performance.now();
  const plan = planCsvImport(text, UCI_MAPPING, { fanOut });
  const writer = RecordingWriter.create(file, { created: 0 });
  const events = threads === 0 ? await writeCsvImport(plan, writer) : await writeCsvImportOnPool(plan, writer, threads);
  await writer.close();
  return events / ((performance.now() - t0) / 1000);
}

/** The recording's chunks (after the header) in blocks of `perBlock` chunks, as they sit in the file. */
function chunkBlocks(file: string, perBlock: number): Uint8Array[] {
  const buf = readFileSync(file);
  const blocks: Uint8Array[] = [];
  let at = 8 + buf.readUInt32LE(4);
  while (at < buf.length) {
    const start = at;
    for (let i = 0; i < perBlock && at < buf.length; i++) at += 4 + buf.readUInt32LE(at);
    blocks.push(new Uint8Array(buf.subarray(start, at))); // a copy: its own ArrayBuffer, transferable
  }
  return blocks;
}

/** Baseline: replay's decoding, RecordingReader on the main thread. */
async function readerRate(file: string): Promise<number> {
  const t0 = performance.now();
  const reader = await RecordingReader.open(file);
  let n = 0;
  for await (const chunk of reader.chunks()) n += chunk.length;
  await reader.close();
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Ours: blocks of chunks decoded on the pool, the events cloned back and consumed in
 * order, at most two blocks per worker in flight (as the import does; queueing every
 * block at once would only add memory pressure).
 */
async function poolRate(pool: Piscina<Uint8Array, unknown[]>, file: string): Promise<number> {
  const t0 = performance.now();
  const blocks = chunkBlocks(file, 16);
  const inFlight: Promise<unknown[]>[] = [];
  const submit = (b: Uint8Array): void => void inFlight.push(pool.run(b, { transferList: [b.buffer as ArrayBuffer] }));
  let next = 0;
  while (next < blocks.length && next < THREADS * 2) submit(blocks[next++]!);
  let n = 0;
  while (inFlight.length > 0) {
    n += (await inFlight.shift()!).length;
    if (next < blocks.length) submit(blocks[next++]!);
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'twinflow-bench-offload-'));
  const text = readFileSync(UCI, 'utf8');
  const runs = 3;
  const fanOut = ctx.quick ? 25 : 100;
  const label = `UCI × ${fanOut} (${((fanOut * 16_286) / 1e6).toFixed(2)} M events)`;
  try {
    const file = join(dir, 'uci.tfr');
    const seqFile = join(dir, 'uci-seq.tfr');
    const [seq, par] = await alternate(
      runs,
      () => importRate(text, fanOut, seqFile, 0),
      () => importRate(text, fanOut, file, THREADS),
    );
    const [seqSmall, parSmall] = await alternate(
      runs,
      () => importRate(text, 10, join(dir, 'small.tfr'), 0),
      () => importRate(text, 10, join(dir, 'small.tfr'), THREADS),
    );
    // The evidence only counts if both did the same work: the files must be the same bytes.
    if (!readFileSync(file).equals(readFileSync(seqFile)))
      throw new Error('offload: the pool import differs from the one-thread import');
    const pool = new Piscina<Uint8Array, unknown[]>({
      filename: new URL('./lib/decode-worker.js', import.meta.url).href,
      minThreads: THREADS,
      maxThreads: THREADS,
    });
    let decodeMain: number[], decodePool: number[];
    try {
      [decodeMain, decodePool] = await alternate(
        runs,
        () => readerRate(file),
        () => poolRate(pool, file),
      );
    } finally {
      await pool.destroy();
    }
    // Same work on the main thread as in the pool, without the clone: what the pool's threads spend per event.
    const blocks = chunkBlocks(file, 16);
    const t0 = performance.now();
    let n = 0;
    for (const b of blocks) n += decodeChunks(b).length;
    const decodeOnly = n / ((performance.now() - t0) / 1000);
    return [
      {
        scenario: 'offload',
        figure: `import events/s, ${label}, blocks encoded on ${THREADS} workers`,
        unit: 'ev/s',
        ours: par,
        baseline: seq,
        baselineName: 'writeCsvImport, 1 thread',
        target: { ratio: 1.3, cmp: '>=' },
      },
      {
        scenario: 'offload',
        figure: `import events/s, UCI × 10 (0.16 M events), blocks encoded on ${THREADS} workers`,
        unit: 'ev/s',
        ours: parSmall,
        baseline: seqSmall,
        baselineName: 'writeCsvImport, 1 thread',
      },
      {
        scenario: 'offload',
        figure: `decode events/s, ${label}, pool of ${THREADS}, events returned`,
        unit: 'ev/s',
        ours: decodePool,
        baseline: decodeMain,
        baselineName: 'RecordingReader, main thread',
        note: `decodeChunks alone on the main thread (no reader, no clone): ${(decodeOnly / 1000).toFixed(0)}k ev/s`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
