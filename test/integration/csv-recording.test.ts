import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { importCsv, UCI_MAPPING } from '../../src/recording/csv-import.js';
import { planCsvImport, type CsvImportPlan } from '../../src/recording/csv-import-plan.js';
import { writeCsvImport, type CsvRecordingOptions, type CsvRecordingResult } from '../../src/recording/csv-recording.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter, type RecordingWriterOptions } from '../../src/recording/recording-writer.js';
import { tempDir } from '../support/tmp.js';

const CSV = fileURLToPath(new URL('../fixtures/uci-occupancy/datatraining.txt', import.meta.url));
const TEXT = readFileSync(CSV, 'utf8');

afterEach(() => vi.restoreAllMocks());

/** Writes the plan to a fresh recording; returns the file, its bytes and what the import did. */
async function written(plan: CsvImportPlan, options: CsvRecordingOptions, writerOptions: RecordingWriterOptions = {}): Promise<{ file: string; bytes: Buffer; result: CsvRecordingResult }> {
  const file = join(tempDir(), 'import.tfr');
  const writer = RecordingWriter.create(file, { created: 0, ...writerOptions });
  const result = await writeCsvImport(plan, writer, options);
  await writer.close();
  return { file, bytes: readFileSync(file), result };
}

/** The same events through the writer one by one: the file every import must reproduce. */
async function appended(fanOut: number, writerOptions: RecordingWriterOptions = {}): Promise<Buffer> {
  const file = join(tempDir(), 'appended.tfr');
  const writer = RecordingWriter.create(file, { created: 0, ...writerOptions });
  for (const e of importCsv(TEXT, UCI_MAPPING, { fanOut })) writer.append(e);
  await writer.close();
  return readFileSync(file);
}

describe('CSV import to a recording', () => {
  it('writes the UCI file × 100 byte-identical on worker threads and on the calling thread', async () => {
    const plan = planCsvImport(TEXT, UCI_MAPPING, { fanOut: 100 });
    const parallel = await written(plan, { threads: 2, parallelFrom: 0 });
    const sequential = await written(plan, { threads: 1 });
    expect(parallel.result).toEqual({ events: 1_628_600, threads: 2 });
    expect(sequential.result).toEqual({ events: 1_628_600, threads: 0 });
    expect(parallel.bytes.equals(sequential.bytes)).toBe(true);
    const reader = await RecordingReader.open(parallel.file);
    let events = 0;
    for await (const chunk of reader.chunks()) events += chunk.length;
    await reader.close();
    expect(events).toBe(1_628_600);
  }, 180_000);

  it('writes an odd size with an odd chunk size byte-identical to appending the events one by one', async () => {
    // 3 copies × 8,143 rows × 2 sensors = 48,858 events; chunks of 999 end mid-block and mid-file.
    const plan = planCsvImport(TEXT, UCI_MAPPING, { fanOut: 3 });
    const expected = await appended(3, { chunkSize: 999 });
    for (const threads of [1, 2, 3]) {
      const { bytes, result } = await written(plan, { threads, parallelFrom: 0 }, { chunkSize: 999 });
      expect(result).toEqual({ events: 48_858, threads: threads === 1 ? 0 : threads });
      expect(bytes.equals(expected)).toBe(true);
    }
  }, 120_000);

  it('keeps a small import on the calling thread', async () => {
    const plan = planCsvImport(TEXT, UCI_MAPPING, { fanOut: 1 });
    const { bytes, result } = await written(plan, { threads: 2 });
    expect(result).toEqual({ events: 16_286, threads: 0 });
    expect(bytes.equals(await appended(1))).toBe(true);
  });

  it('runs through `twinflow import` (worker threads past 200 k events) and refuses --threads 0', async () => {
    const dir = tempDir();
    const out = join(dir, 'cli.tfr');
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    expect(await main(['import', CSV, '--out', out, '--fan-out', '13', '--threads', '2'])).toBe(0);
    expect(await main(['import', CSV, '--out', join(dir, 'x.tfr'), '--threads', '0'])).toBe(2);
    vi.restoreAllMocks();
    expect(stdout).toBe(`wrote 211,718 events to ${out} (2 worker threads)\n`);
    expect(stderr).toMatch(/^twinflow import: --threads must be at least 1, got 0\n/);
    const expected = await written(planCsvImport(TEXT, UCI_MAPPING, { fanOut: 13 }), { threads: 1 }, { meta: { importedFrom: CSV, fanOut: 13 } });
    expect(readFileSync(out).equals(expected.bytes)).toBe(true);
    const reader = await RecordingReader.open(out);
    expect(reader.header).toEqual({ format: 1, created: 0, meta: { importedFrom: CSV, fanOut: 13 } });
    await reader.close();
  }, 120_000);
});

