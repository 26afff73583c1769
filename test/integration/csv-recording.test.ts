import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeCsvImportOnPool } from '../../bench/lib/parallel-import.js';
import { main } from '../../src/cli/cli.js';
import { importCsv, UCI_MAPPING } from '../../src/recording/csv-import.js';
import { planCsvImport, type CsvImportPlan } from '../../src/recording/csv-import-plan.js';
import { writeCsvImport } from '../../src/recording/csv-recording.js';
import { RECORDING_VERSION } from '../../src/recording/recording-format.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter, type RecordingWriterOptions } from '../../src/recording/recording-writer.js';
import { tempDir } from '../support/tmp.js';

const CSV = fileURLToPath(new URL('../fixtures/uci-occupancy/datatraining.txt', import.meta.url));
const TEXT = readFileSync(CSV, 'utf8');

afterEach(() => vi.restoreAllMocks());

/**
 * Writes the plan to a fresh recording on the calling thread (threads 0, the product) or
 * with `threads` pool workers encoding (the bench's measured alternative).
 */
async function written(
  plan: CsvImportPlan,
  threads: number,
  writerOptions: RecordingWriterOptions = {},
): Promise<{ file: string; bytes: Buffer; events: number }> {
  const file = join(tempDir(), 'import.tfr');
  const writer = RecordingWriter.create(file, { created: 0, ...writerOptions });
  const events = threads === 0 ? await writeCsvImport(plan, writer) : await writeCsvImportOnPool(plan, writer, threads);
  await writer.close();
  expect(writer.count).toBe(events);
  return { file, bytes: readFileSync(file), events };
}

/**
 * The same events through the writer one by one, each chunk with its own string table (as
 * the import's chunks have, so blocks encode apart): the file every import must reproduce.
 */
async function appended(fanOut: number, writerOptions: RecordingWriterOptions = {}): Promise<Buffer> {
  const file = join(tempDir(), 'appended.tfr');
  const writer = RecordingWriter.create(file, { created: 0, carryStrings: 0, ...writerOptions });
  for (const e of importCsv(TEXT, UCI_MAPPING, { fanOut })) writer.append(e);
  await writer.close();
  return readFileSync(file);
}

describe('CSV import to a recording', () => {
  it('writes the same bytes as appending the events one by one (one copy; three with an odd chunk size)', async () => {
    expect((await written(planCsvImport(TEXT, UCI_MAPPING), 0)).bytes.equals(await appended(1))).toBe(true);
    // 3 copies × 8,143 rows × 2 sensors = 48,858 events; chunks of 999 end mid-block and mid-file.
    const three = await written(planCsvImport(TEXT, UCI_MAPPING, { fanOut: 3 }), 0, { chunkSize: 999 });
    expect(three.events).toBe(48_858);
    expect(three.bytes.equals(await appended(3, { chunkSize: 999 }))).toBe(true);
  }, 60_000);

  it('writes the UCI file × 100 byte-identical with blocks encoded on worker threads (the bench alternative)', async () => {
    const plan = planCsvImport(TEXT, UCI_MAPPING, { fanOut: 100 });
    const parallel = await written(plan, 2);
    const sequential = await written(plan, 0);
    expect(parallel.events).toBe(1_628_600);
    expect(parallel.bytes.equals(sequential.bytes)).toBe(true);
    const reader = await RecordingReader.open(parallel.file);
    let events = 0;
    for await (const chunk of reader.chunks()) events += chunk.length;
    await reader.close();
    expect(events).toBe(1_628_600);
  }, 180_000);

  it('writes an odd size with an odd chunk size byte-identical on 2 and 3 workers', async () => {
    const plan = planCsvImport(TEXT, UCI_MAPPING, { fanOut: 3 });
    const expected = await written(plan, 0, { chunkSize: 999 });
    for (const threads of [2, 3])
      expect((await written(plan, threads, { chunkSize: 999 })).bytes.equals(expected.bytes)).toBe(true);
  }, 120_000);

  it('runs through `twinflow import`: the header names the file, the events are the planned ones', async () => {
    const out = join(tempDir(), 'cli.tfr');
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    expect(await main(['import', CSV, '--out', out, '--fan-out', '13'])).toBe(0);
    vi.restoreAllMocks();
    expect(stdout).toBe(`wrote 211,718 events to ${out}\n`);
    const expected = await written(planCsvImport(TEXT, UCI_MAPPING, { fanOut: 13 }), 0, {
      meta: { importedFrom: CSV, fanOut: 13 },
    });
    expect(readFileSync(out).equals(expected.bytes)).toBe(true);
    const reader = await RecordingReader.open(out);
    expect(reader.header).toEqual({ format: RECORDING_VERSION, created: 0, meta: { importedFrom: CSV, fanOut: 13 } });
    await reader.close();
  }, 60_000);

  it('refuses to write chunks encoded elsewhere into an open chunk', async () => {
    const writer = RecordingWriter.create(join(tempDir(), 'x.tfr'), { created: 0 });
    writer.append(importCsv(TEXT, UCI_MAPPING)[0]!);
    expect(() => writer.appendEncoded(new Uint8Array(0), 0)).toThrow(/empty open chunk/);
    await writer.close();
  });
});
