/**
 * toWireJs (protocol/wire-js.ts) against a simple model: `JSON.stringify` with a replacer
 * that spells out the rule. Property tests over JSON values mixed with Maps (string and
 * other keys, "__proto__" among them), Dates (invalid ones too) and byte arrays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_WIRE_DEPTH, toWireJs } from '../../src/protocol/wire-js.js';

/** The rule, written the slow and obvious way (Date's toJSON runs before a replacer sees it). */
function model(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, x: unknown) => {
    if (x instanceof Map)
      return [...x.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(x) : [...x.entries()];
    if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
    return x;
  });
}

const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString'));
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 40 }),
);
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
    fc.array(fc.tuple(fc.oneof(fc.integer(), key), tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
  ),
}));

describe('toWireJs', () => {
  it('gives what the rule says, JSON-encodable, without changing its input', () => {
    fc.assert(
      fc.property(value, (v) => {
        const before = model(v);
        const wire = toWireJs(v);
        expect(JSON.stringify(wire)).toBe(model(v));
        expect(model(v)).toBe(before); // the input is not changed
      }),
      { numRuns: 500 },
    );
  });

  it('returns a value holding no Map, Date or bytes as it is: no copy', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(toWireJs(v)).toBe(v);
      }),
    );
  });

  it('keeps bytes as bytes when asked (a Recon blob) and copies only the path to a change', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const untouched = { n: 1 };
    const v = { a: [untouched, new Map([['b', bytes]])] };
    const kept = toWireJs(v, 'keep') as { a: [unknown, { b: Uint8Array }] };
    expect(kept.a[1].b).toBe(bytes);
    expect(kept.a[0]).toBe(untouched);
    expect(v.a[1]).toBeInstanceOf(Map);
  });

  it('leaves what is nested deeper than its bound as it is (no stack overflow on a deep value)', () => {
    let deep: unknown = new Map([['x', 1]]);
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(toWireJs(deep)).toBe(deep);
    let shallow: unknown = new Map([['x', 1]]);
    for (let i = 0; i < MAX_WIRE_DEPTH - 1; i++) shallow = [shallow];
    expect(JSON.stringify(toWireJs(shallow))).toContain('{"x":1}');
  });
});
