import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, type TwinEvent } from '../../src/index.js';
import { fromJsonLine, toJsonLine } from '../../src/recording/jsonl.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
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
    expect(reader.header).toEqual({ format: 1, created: 123, batches: true, meta: { test: true } });
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
