/**
 * readLogEntry, the one reader of state-log messages: every entry a node writes reads back
 * as it was, and nothing else (any bytes, any decoded value) throws or reads as an entry
 * whose writes a restore could not apply.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import {
  encodeLogEntry,
  LOG_CODEC_HEADER,
  logCodec,
  readLogEntry,
  type LogEntry,
} from '../../src/cluster/log-entries.js';
import type { StateWrite } from '../../src/store/state-store.js';

const path = fc.constantFrom('/a', '/a/b', '/org/o/site/s');
/** What a lane may hold besides JSON: Maps (any keys), Dates, bytes, nested in plain objects. */
const laneValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 8 }),
  fc
    .array(
      fc.tuple(fc.oneof(fc.string(), fc.integer(), fc.record({ k: fc.integer() })), fc.jsonValue({ maxDepth: 1 })),
      {
        maxLength: 4,
      },
    )
    .map((pairs) => new Map<unknown, unknown>(pairs)),
);
/** The header a node's messages carry. */
const NODE = (() => {
  const h = headers();
  h.set(LOG_CODEC_HEADER, logCodec());
  return h;
})();
const write: fc.Arbitrary<StateWrite> = fc.oneof(
  fc.record({
    op: fc.constant('record' as const),
    path,
    values: fc.dictionary(fc.string({ maxLength: 6 }), laneValue),
  }),
  fc.record({ op: fc.constant('put' as const), path, lane: fc.string(), key: fc.string(), value: fc.jsonValue() }),
  fc.record({ op: fc.constant('del' as const), path, lane: fc.string() }, { requiredKeys: ['op', 'path', 'lane'] }),
  fc.record({ op: fc.constant('del' as const), path, lane: fc.string(), key: fc.string() }),
);
const count = fc.nat({ max: 2 ** 40 });
const entry: fc.Arbitrary<LogEntry> = fc.record(
  {
    k: fc.constantFrom('c' as const, 's' as const, 'o' as const),
    e: count,
    w: count,
    ops: fc.array(write, { maxLength: 5 }),
    end: fc.boolean(),
    j: fc.array(fc.tuple(count, count), { maxLength: 3 }),
  },
  { requiredKeys: ['k', 'e', 'w', 'ops', 'end'] },
);

describe('readLogEntry', () => {
  it('reads every entry a node writes as it was written: Maps with any keys, Dates and bytes too', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(readLogEntry(encodeLogEntry(e), NODE)).toEqual(e);
      }),
    );
  });

  it('reads messages of builds before the codec header (plain msgpack) as they read them', () => {
    const plain = {
      k: 'c' as const,
      e: 1,
      w: 2,
      ops: [{ op: 'record' as const, path: '/a', values: { t: 1 } }],
      end: true,
    };
    expect(readLogEntry(pack(plain))).toEqual(plain);
  });

  it('never throws, and what it accepts has the shape a restore relies on', () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.anything().map((v) => pack(v)),
      entry.chain((e) =>
        fc
          .constantFrom('k', 'e', 'w', 'ops', 'end', 'j')
          .chain((field) => fc.anything().map((v) => pack({ ...e, [field]: v }))),
      ),
    );
    fc.assert(
      fc.property(junk, fc.boolean(), (bytes, marked) => {
        const e = readLogEntry(bytes, marked ? NODE : undefined);
        if (e === null) return;
        expect(['c', 's', 'o']).toContain(e.k);
        expect(Number.isSafeInteger(e.e) && e.e >= 0 && Number.isSafeInteger(e.w) && e.w >= 0).toBe(true);
        expect(typeof e.end).toBe('boolean');
        for (const op of e.ops) expect(['record', 'put', 'del']).toContain(op.op);
      }),
    );
  });

  it('refuses the usual kinds of junk', () => {
    for (const v of [null, 7, 'c', [], { k: 'c' }, { k: 'x', e: 1, w: 1, ops: [], end: true }])
      expect(readLogEntry(pack(v))).toBeNull();
    expect(readLogEntry(new Uint8Array([0xc1]))).toBeNull();
    const ok = { k: 'c', e: 1, w: 2, ops: [], end: true };
    expect(readLogEntry(pack({ ...ok, ops: [{ op: 'journal', path: '/a', entry: {} }] }))).toBeNull();
    expect(readLogEntry(pack({ ...ok, ops: [{ op: 'record', path: '/a', values: [1] }] }))).toBeNull();
    expect(readLogEntry(pack({ ...ok, e: -1 }))).toBeNull();
    // A fence pair that is no (vshard, epoch) is dropped, the entry and its writes kept.
    expect(readLogEntry(pack({ ...ok, j: [[1], [2, 3], [4, 1.5], [5, Infinity]] }))).toEqual({ ...ok, j: [[2, 3]] });
    expect(readLogEntry(pack({ ...ok, j: 'x' }))).toBeNull();
    expect(readLogEntry(pack(ok))).toEqual(ok);
  });
});
