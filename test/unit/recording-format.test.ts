import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { Packr } from 'msgpackr';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, type TwinEvent } from '../../src/index.js';
import { fromJsonLine, toJsonLine } from '../../src/recording/jsonl.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { RECORDING_VERSION } from '../../src/recording/recording-format.js';
import { ChunkEncoder } from '../../src/recording/chunk-encoder.js';
import { canonicalJson } from '../../src/recording/digest.js';
import { progressLine } from '../../src/cli/progress.js';
import { tempDir } from '../support/tmp.js';

const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';

function events(n: number): TwinEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i),
    source: i % 3 ? 'dev-a' : 'dev-b',
    type: 'reading',
    subject: `${ROOM}/sensors/${i % 2 ? 'climate' : 'occupancy'}`,
    time: 1_700_000_000_000 + i * 997 - (i % 5 === 0 ? 3000 : 0), // not monotonic: late arrivals
    data: i % 2 ? { temperature: 20 + i / 4, humidity: 40 } : { occupied: i % 4 === 0 },
  }));
}

function sensorPath(n: number): string {
  return `/org/contoso/site/berlin/building/${n % 7}/floor/${n % 5}/unit/u/room/${n}/sensors/climate`;
}

async function readAll(path: string): Promise<{ events: TwinEvent[]; reader: RecordingReader }> {
  const reader = await RecordingReader.open(path);
  const out: TwinEvent[] = [];
  for await (const e of reader.events()) out.push(e);
  await reader.close();
  return { events: out, reader };
}

describe('recording format', () => {
  it('round-trips events in order across chunks, with header, provenance and batches', async () => {
    const file = join(tempDir(), 'a.tfr');
    const input = events(10_000);
    const w = RecordingWriter.create(file, { chunkSize: 777, created: 123, batches: true, meta: { test: true } });
    const sizes = [1, 776, 2, 1000, 3];
    let at = 0;
    for (let i = 0; at < input.length; i++) {
      const n = sizes[i % sizes.length]!;
      w.appendBatch(input.slice(at, at + n));
      at += n;
    }
    await w.close();
    const { events: back, reader } = await readAll(file);
    expect(reader.header).toEqual({ format: RECORDING_VERSION, created: 123, batches: true, meta: { test: true } });
    const again = await RecordingReader.open(file);
    const batchSizes: number[] = [];
    for await (const b of again.chunks(true)) batchSizes.push(b.length);
    await again.close();
    expect(batchSizes.slice(0, 6)).toEqual([1, 776, 2, 1000, 3, 1]);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(input.length);
    expect(back).toEqual(input);
    expect(reader.truncated).toBe(false);
    expect(reader.position).toBe(statSync(file).size);
    // Compact: strings once per chunk, time deltas, msgpack records for data.
    expect(statSync(file).size / input.length).toBeLessThan(45);
  });

  it("stores a fleet's subjects once per file, not once per chunk, and reads them back", async () => {
    // 3,000 sensors reporting round robin in chunks of 500: each chunk holds 500 subjects
    // that no chunk since the table began held, until the table holds all of them.
    const fleet = Array.from({ length: 30_000 }, (_, i) => ({
      id: String(i),
      source: 'gen',
      type: 'reading',
      subject: sensorPath(i % 3000),
      time: 1_700_000_000_000 + i,
      data: { temperature: 21, humidity: 40 },
    }));
    const sizes: Record<string, number> = {};
    for (const [name, carryStrings] of [
      ['carried', undefined],
      ['small table', 1000],
      ['per chunk', 0],
    ] as const) {
      const file = join(tempDir(), `${name}.tfr`);
      const w = RecordingWriter.create(file, { chunkSize: 500, carryStrings });
      for (const e of fleet) w.append(e);
      await w.close();
      const { events: back, reader } = await readAll(file);
      expect(back, name).toEqual(fleet);
      expect(reader.truncated).toBe(false);
      sizes[name] = statSync(file).size;
    }
    // Subjects are ~75 of ~100 bytes an event: stored once instead of ten times.
    expect(sizes.carried! / sizes['per chunk']!).toBeLessThan(0.4);
    // A table past its bound starts afresh: correct, only larger.
    expect(sizes['small table']!).toBeGreaterThan(sizes.carried!);
  });

  it('reads format-1 files (a table per chunk) and chunks encoded apart between carried ones', async () => {
    const file = join(tempDir(), 'mixed.tfr');
    const input = events(3000);
    const w = RecordingWriter.create(file, { chunkSize: 100 });
    for (const e of input.slice(0, 1000)) w.append(e);
    w.flush();
    // The CSV import's path: chunks with their own tables, encoded by another encoder.
    const apart = new ChunkEncoder();
    const parts: Buffer[] = [];
    for (const [i, e] of input.slice(1000, 2000).entries()) {
      apart.add(e.time, e.subject, e.type, e.source, e.id, e.data);
      if (i % 100 === 99) parts.push(...Object.values(apart.take()!));
    }
    w.appendEncoded(Buffer.concat(parts), 1000);
    for (const e of input.slice(2000)) w.append(e);
    await w.close();
    expect((await readAll(file)).events).toEqual(input);

    // A format-1 file as an older build wrote it: a header saying 1, every table fresh.
    const old = join(tempDir(), 'v1.tfr');
    const packr = new Packr({ useRecords: true });
    const header = packr.pack({ format: 1, created: 5 });
    const chunk = packr.pack([
      1000,
      ['/org/a/site/b', 'reading', 'dev'],
      [0, 0, 1, 2, 'x', { t: 1 }],
      [5, 0, 1, 2, 'y', null],
    ]);
    writeHandBuilt(old, header, chunk);
    const back = await readAll(old);
    expect(back.reader.header.format).toBe(1);
    expect(back.events.map((e) => [e.subject, e.time, e.id])).toEqual([
      ['/org/a/site/b', 1000, 'x'],
      ['/org/a/site/b', 1005, 'y'],
    ]);
  });

  it('refuses a chunk that carries on a table the chunks before it did not leave', async () => {
    const file = join(tempDir(), 'spliced.tfr');
    const w = RecordingWriter.create(file, { chunkSize: 10 });
    for (const [i, e] of events(30).entries()) w.append({ ...e, subject: sensorPath(i) });
    await w.close();
    // Drop the second chunk: the third carries on a table the first alone did not leave.
    const bytes = readFileSync(file);
    const chunkAt = (at: number) => at + 4 + bytes.readUInt32LE(at);
    const first = 8 + bytes.readUInt32LE(4);
    const second = chunkAt(first);
    const third = chunkAt(second);
    writeFileSync(file, Buffer.concat([bytes.subarray(0, second), bytes.subarray(third)]));
    await expect(readAll(file)).rejects.toMatchObject({
      code: 'TWIN_RECORDING_INVALID',
      message: expect.stringMatching(/carries on \d+ strings, but the chunks before it left \d+/),
    });
  });

  it('reads a recording cut inside a chunk up to the last whole chunk', async () => {
    const file = join(tempDir(), 'cut.tfr');
    const w = RecordingWriter.create(file, { chunkSize: 100 });
    for (const e of events(1000)) w.append(e);
    await w.close();
    truncateSync(file, statSync(file).size - 10);
    const { events: back, reader } = await readAll(file);
    expect(back).toHaveLength(900);
    expect(reader.truncated).toBe(true);
  });

  it('refuses files that are not recordings', async () => {
    const file = join(tempDir(), 'x.tfr');
    const w = RecordingWriter.create(file);
    await w.close();
    await expect(RecordingReader.open(fileURLToPathSafe())).rejects.toThrow(/not a twinflow recording/);
    expect(readFileSync(file).subarray(0, 4).toString()).toBe('TFRC');
  });

  it('exports and reads back JSON Lines CloudEvents', () => {
    for (const e of events(20)) {
      const line = toJsonLine(e);
      expect(JSON.parse(line)).toMatchObject({
        specversion: '1.0',
        subject: e.subject,
        time: new Date(e.time).toISOString(),
      });
      expect(fromJsonLine(line)).toEqual(e);
    }
  });

  it('canonical JSON ignores key order; the progress line shows rate and ETA', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
    expect(progressLine(0.5, 500_000, 1000)).toBe('[##########----------]  50.0%  500.0k ev/s  ETA 1s');
  });
});

describe('Runtime.onIngested', () => {
  it('reports accepted events after commit, in arrival order across concurrent calls, without rejected ones', async () => {
    const rt = createRuntime({ models: buildingModels(), logger: pino({ level: 'silent' }) });
    const seen: string[] = [];
    const batches: number[] = [];
    const off = rt.onIngested((events) => {
      batches.push(events.length);
      seen.push(...events.map((e) => e.id));
    });
    const a = rt.ingest([
      { subject: `${ROOM}/sensors/climate`, id: 'a1', data: { temperature: 21, humidity: 40 } },
      { subject: `${ROOM}/sensors/climate`, id: 'a2', data: { nope: 1 } }, // rejected by the model
      { subject: 'not a path', id: 'a3' }, // invalid
    ]);
    const b = rt.ingest({ subject: `${ROOM}/sensors/occupancy`, id: 'b1', data: { occupied: true } });
    const c = rt.ingest({ subject: `${ROOM}/sensors/climate`, id: 'a1', data: { temperature: 21, humidity: 40 } }); // redelivery: acknowledged
    expect(seen).toEqual([]);
    await Promise.all([a, b, c]);
    expect(seen).toEqual(['a1', 'b1', 'a1']);
    expect(batches).toEqual([1, 1, 1]);
    off();
    await rt.ingest({ subject: `${ROOM}/sensors/occupancy`, id: 'b2', data: { occupied: false } });
    expect(seen).toHaveLength(3);
    await rt.close();
  });
});

function fileURLToPathSafe(): string {
  return new URL(import.meta.url).pathname; // this test file: certainly not a recording
}

describe('recordings from other msgpack writers', () => {
  it('reads plain msgpack maps (header and event data) as objects, not Maps', async () => {
    // What a writer without msgpackr's records writes: every object a msgpack map.
    const plain = new Packr({ useRecords: false });
    const header = plain.pack({ format: RECORDING_VERSION, created: 0 });
    const subject = '/org/o/site/s/building/b/floor/1/unit/u/room/r/sensors/climate';
    const data = { temperature: 21.5, humidity: 40 };
    // A chunk as the format has it: base time, string table, then [dt, subject, type, source, id, data].
    const chunk = plain.pack([1_700_000_000_000, [subject, 'reading', 'dev'], [0, 0, 1, 2, 'e1', data]]);
    const file = join(tempDir(), 'plain.tfr');
    writeHandBuilt(file, header, chunk);
    const reader = await RecordingReader.open(file);
    try {
      expect(reader.header.format).toBe(RECORDING_VERSION);
      const events: TwinEvent[] = [];
      for await (const c of reader.chunks()) events.push(...c);
      expect(events).toHaveLength(1);
      expect(events[0]!.data).toEqual(data);
      expect(events[0]!.data).not.toBeInstanceOf(Map);
      expect(JSON.parse(toJsonLine(events[0]!)).data).toEqual(data);
    } finally {
      await reader.close();
    }
  });
});

describe('a recording header and batch marks are checked', () => {
  const packr = new Packr({ useRecords: true });
  const subject = '/org/o/site/s/building/b/floor/1/unit/u/room/r/sensors/climate';
  const write = (header: unknown, records: unknown[]): string => {
    const h = packr.pack(header);
    const c = packr.pack([1_700_000_000_000, [subject, 'reading', 'dev'], ...records]);
    const file = join(tempDir(), 'x.tfr');
    writeHandBuilt(file, h, c);
    return file;
  };
  const read = async (file: string): Promise<number> => {
    const reader = await RecordingReader.open(file);
    try {
      let n = 0;
      for await (const c of reader.chunks(true)) n += c.length;
      return n;
    } finally {
      await reader.close();
    }
  };

  it.each([NaN, -5, 1.5, 0])('refuses a header whose format is %s', async (format) => {
    await expect(RecordingReader.open(write({ format, created: 0 }, []))).rejects.toMatchObject({
      code: 'TWIN_RECORDING_INVALID',
    });
  });

  it('takes a batch mark of 1 and refuses any other', async () => {
    const header = { format: RECORDING_VERSION, created: 0, batches: true };
    const ok = [0, 0, 1, 2, 'e1', { t: 1 }, 1];
    expect(await read(write(header, [ok]))).toBe(1);
    for (const mark of [0, 'nope', 2])
      await expect(read(write(header, [[0, 0, 1, 2, 'e1', { t: 1 }, mark]]))).rejects.toMatchObject({
        code: 'TWIN_RECORDING_INVALID',
      });
  });
});

/** A recording file built by hand: magic, the header's length and bytes, then one chunk's. */
function writeHandBuilt(file: string, header: Buffer, chunk: Buffer): void {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  writeFileSync(file, Buffer.concat([Buffer.from('TFRC'), u32(header.length), header, u32(chunk.length), chunk]));
}
