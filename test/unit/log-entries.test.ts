/**
 * readLogEntry, the one reader of state-log messages: every entry a node writes reads back
 * as it was, and nothing else (any bytes, any decoded value) throws or reads as an entry
 * whose writes a restore could not apply.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { readLogEntry, type LogEntry } from '../../src/cluster/log-entries.js';
import type { StateWrite } from '../../src/store/state-store.js';

const path = fc.constantFrom('/a', '/a/b', '/org/o/site/s');
const write: fc.Arbitrary<StateWrite> = fc.oneof(
  fc.record({
    op: fc.constant('record' as const),
    path,
    values: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
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
  it('reads every entry a node writes as it was written', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(readLogEntry(pack(e))).toEqual(e);
      }),
    );
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
      fc.property(junk, (bytes) => {
        const e = readLogEntry(bytes);
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
    expect(readLogEntry(pack({ ...ok, j: [[1]] }))).toBeNull();
    expect(readLogEntry(pack(ok))).toEqual(ok);
  });
});
