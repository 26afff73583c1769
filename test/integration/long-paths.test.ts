import { open } from 'lmdb';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRuntime, MAX_PATH_BYTES, TwinError } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { faultyModels } from '../support/faulty-models.js';
import { defaultNode } from '../support/default-node.js';
import { tempDir } from '../support/tmp.js';

/**
 * Paths are bounded in UTF-8 bytes, so every key the store makes of them fits LMDB's: a
 * 756-character path of CJK text (2,156 bytes) was accepted, its record key was not, and
 * the failed read left an LMDB snapshot pinned in the worker while the data file grew by
 * ~80 MB/s under ordinary ingest (bug bash, 2026-12-07).
 */
const CJK = '/org/' + Array.from({ length: 6 }, () => '中'.repeat(125)).join('/');

/** The building model's sensor path with every open segment `seg`, and its room. */
function sensorPath(seg: (level: string) => string): { sensor: string; room: string } {
  const room = ['org', 'site', 'building', 'floor', 'unit', 'room'].map((l) => `/${l}/${seg(l)}`).join('');
  return { room, sensor: `${room}/sensors/climate` };
}

describe('twin paths are bounded in UTF-8 bytes', () => {
  it('a read of a path whose key LMDB cannot hold is 400 TWIN_PATH_INVALID, not a 500 (default flags)', async () => {
    expect(CJK.length).toBeLessThan(900);
    const n = await defaultNode();
    const res = await fetch(`${n.url}/twins${encodeURI(CJK)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('TWIN_PATH_INVALID');
    const post = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: `${CJK}/x`, data: {} }),
    });
    expect(post.status).toBe(400);
  });

  it('the longest accepted sensor path reaches its room and floor: the join entries fit (default flags)', async () => {
    // Two-byte characters, and the path filled up to its byte bound (segments stay within
    // their 128 characters: 60 two-byte characters and up to 68 ASCII ones each).
    const levels = ['org', 'site', 'building', 'floor', 'unit', 'room'];
    const withPad = (pad: number): { sensor: string; room: string } => {
      const extra = levels.map((_, i) => Math.max(0, Math.min(68, pad - 68 * i)));
      return sensorPath((l) => 'é'.repeat(60) + 'o'.repeat(extra[levels.indexOf(l)]!));
    };
    const longest = withPad(MAX_PATH_BYTES - Buffer.byteLength(withPad(0).sensor));
    expect(Buffer.byteLength(longest.sensor)).toBe(MAX_PATH_BYTES);

    const n = await defaultNode();
    const report = await n.runtime.ingest({ subject: longest.sensor, data: { temperature: 21.5, humidity: 40 } });
    expect(report.rejected).toEqual([]);
    const snapshot = await n.runtime.read(longest.room);
    expect(snapshot.lanes.temperature).toBe(21.5);
    const floor = longest.room.slice(0, longest.room.indexOf('/unit/'));
    expect((await n.runtime.read(floor)).lanes.temperature).toBe(21.5);
    expect(n.runtime.stats().turnFailures).toBe(0);

    // 33 rooms in one unit: past 32 entries the unit's joins leave its record for entries
    // keyed `unit␟lane␟room` (two long paths in one key), which must fit LMDB's keys too.
    const siblings = Array.from({ length: 33 }, (_, i) => {
      // The room segment's first two characters (4 bytes) become 4 ASCII ones: same length in bytes.
      const at = longest.room.lastIndexOf('/room/') + 6;
      const room = longest.room.slice(0, at) + `r${String(i).padStart(3, '0')}` + longest.room.slice(at + 2);
      return { room, sensor: `${room}/sensors/climate` };
    });
    expect(Buffer.byteLength(siblings[32]!.sensor)).toBe(MAX_PATH_BYTES);
    const many = await n.runtime.ingest(
      siblings.map((r, i) => ({ subject: r.sensor, data: { temperature: 20 + (i % 2), humidity: 40 } })),
    );
    expect(many.rejected).toEqual([]);
    const unit = longest.room.slice(0, longest.room.indexOf('/room/'));
    const roomTemperature = (await n.runtime.read(unit)).lanes.roomTemperature as Record<string, number>;
    expect(Object.keys(roomTemperature)).toHaveLength(34);
    expect(n.runtime.stats().turnFailures).toBe(0);

    const over = withPad(MAX_PATH_BYTES + 1 - Buffer.byteLength(withPad(0).sensor)).sensor;
    const refused = await n.runtime.ingest({ subject: over, data: { temperature: 1, humidity: 1 } });
    expect(refused.rejected[0]?.error.code).toBe('TWIN_PATH_INVALID');
  });

  it('the store refuses a key it cannot hold before LMDB opens a snapshot: none stays pinned', async () => {
    const dir = tempDir();
    const store = LmdbStateStore.open({ path: dir });
    try {
      expect(() => store.load(CJK)).toThrow(TwinError);
      await new Promise((r) => setTimeout(r, 20)); // lmdb-js resets its read snapshot on a timer
      for (let i = 0; i < 20; i++) await store.write([{ op: 'record', path: `/k/${i}`, values: { i } }]);
      // The same environment, opened again in this process: its reader table. A pinned
      // snapshot shows as a reader with a transaction id; idle slots show '-'.
      const env = open({ path: dir });
      const readers = env
        .readerList()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[2])
        .filter((txn) => txn !== undefined);
      expect(readers.every((txn) => txn === '-')).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('turn failures are counted, and logged at a bounded rate', () => {
  it('a model that throws on every event writes one line per 10 s, and every failure is counted', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
    const rt = createRuntime({ models: faultyModels(), logger: pino({ level: 'info' }, sink) });
    try {
      const events = Array.from({ length: 200 }, (_, i) => ({ subject: '/gadget/1', type: 'crash', id: `c${i}` }));
      const report = await rt.ingest(events);
      expect(report.rejected).toHaveLength(200);
      expect(rt.stats().turnFailures).toBe(200);
      const failed = lines.filter((l) => l.includes('turn failed and was rolled back'));
      expect(failed).toHaveLength(1);
    } finally {
      await rt.close();
    }
  });
});
