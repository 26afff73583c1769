/**
 * Fuzzing the recording reader on truncated, bit-flipped and random files: it reads
 * events, stops at a truncation (`truncated`), or throws TWIN_RECORDING_INVALID — never
 * another error, never a giant allocation from a corrupt length field, always fast.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { beforeAll, describe, expect, it } from 'vitest';
import { TwinError } from '../../src/index.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { tempDir } from '../support/tmp.js';
import { FULL, RUNS, TIMEOUT, fuzzAsync, twinError } from './runs.js';
import { mutatedBytes } from './mutate.js';

const SUBJECT = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate';
let dir: string;
/** Valid recordings: plain, batched, with odd data (all chunk shapes the writer makes). */
const valid: Uint8Array[] = [];

beforeAll(async () => {
  const setup = tempDir('tf-fuzz-rec-');
  for (const [k, options] of [{}, { batches: true, chunkSize: 3 }, { chunkSize: 2, meta: { seed: 1 } }].entries()) {
    const file = join(setup, `${k}.tfr`);
    const w = RecordingWriter.create(file, { created: 1, ...options });
    for (let i = 0; i < 7; i++) {
      const e = {
        id: `e${i}`,
        source: i % 2 ? 'dev/1' : 'dev/2',
        type: 'reading',
        subject: SUBJECT,
        time: 1_700_000_000_000 + i * 1000,
        data: i === 3 ? { __proto__: 1, deep: [[[{ x: '\uD800' }]]] } : { temperature: 20 + i, humidity: 40 },
      };
      if (options.batches) w.appendBatch([e]);
      else w.append(e);
    }
    await w.close();
    valid.push(new Uint8Array(readFileSync(file)));
  }
});

/** Reads a whole file the way replay does; returns the event count. */
async function readAll(path: string): Promise<number> {
  const r = await RecordingReader.open(path);
  let n = 0;
  try {
    for await (const chunk of r.chunks(r.header.batches === true)) {
      for (const e of chunk) {
        expect(typeof e.subject).toBe('string');
        expect(Number.isFinite(e.time)).toBe(true);
        n++;
      }
    }
  } finally {
    await r.close();
  }
  return n;
}

/** Regressions found by this file (before: a plain Error, msgpackr's errors, TypeErrors, a 4 GiB allocation). */
describe('recording reader on damaged files', () => {
  const write = (bytes: Uint8Array): string => {
    const path = join(tempDir('tf-rec-bad-'), 'bad.tfr');
    writeFileSync(path, bytes);
    return path;
  };
  const code = async (path: string): Promise<string> =>
    readAll(path).then(
      () => 'read',
      (e: unknown) => (e instanceof TwinError ? e.code : `not a TwinError: ${String(e)}`),
    );

  it('refuses a file without the magic', async () => {
    expect(await code(write(Buffer.from('TF')))).toBe('TWIN_RECORDING_INVALID');
  });

  it('refuses a header length past the end of the file without allocating it', async () => {
    const bytes = Buffer.from(valid[0]!);
    bytes.writeUInt32LE(0xffffffff, 4);
    expect(await code(write(bytes))).toBe('TWIN_RECORDING_INVALID');
  });

  it('reads a chunk length past the end of the file as a truncation without allocating it', async () => {
    const bytes = Buffer.from(valid[0]!);
    const headerEnd = 8 + bytes.readUInt32LE(4);
    bytes.writeUInt32LE(0xfffffff0, headerEnd);
    const r = await RecordingReader.open(write(bytes));
    for await (const chunk of r.chunks()) expect(chunk).toEqual([]); // none
    expect(r.truncated).toBe(true);
    await r.close();
  });

  it('refuses a chunk that is msgpack but not [base, strings, ...records], and a dangling string index', async () => {
    const bytes = Buffer.from(valid[0]!);
    const headerEnd = 8 + bytes.readUInt32LE(4);
    const chunk = new Packr({ useRecords: true });
    for (const body of [
      chunk.pack({ a: 1 }),
      chunk.pack([0, ['s'], [0, 5, 0, 0, 'id', null]]),
      chunk.pack([0, ['s'], 7]),
    ]) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      expect(await code(write(Buffer.concat([bytes.subarray(0, headerEnd), len, body])))).toBe(
        'TWIN_RECORDING_INVALID',
      );
    }
  });
});

describe('recording reader fuzz', () => {
  it(
    'reads, stops at a truncation or throws TWIN_RECORDING_INVALID on corrupt files',
    async () => {
      dir = tempDir('tf-fuzz-rec-');
      const file = fc.oneof(
        { arbitrary: mutatedBytes(fc.constantFrom(...valid)), weight: 8 },
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([0x54, 0x46, 0x52, 0x43, ...b])), // "TFRC" + noise
      );
      let i = 0;
      // File I/O per case: the full run is a fraction of the parser count (see docs/security.md).
      await fuzzAsync(
        'recording reader',
        file,
        async (bytes) => {
          const path = join(dir, `${i++ % 64}.tfr`);
          writeFileSync(path, bytes);
          await readAll(path);
        },
        twinError('TWIN_RECORDING_INVALID'),
        FULL ? RUNS : 500,
      );
    },
    TIMEOUT,
  );
});
