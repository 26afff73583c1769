/**
 * toWireJs (protocol/wire-js.ts) against a simple model: `JSON.stringify` with a replacer
 * that spells out the rule. Property tests over JSON values mixed with Maps (string and
 * other keys, "__proto__" among them), Dates (invalid ones too) and byte arrays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/client/wire.js';
import { canonicalJson } from '../../src/recording/digest.js';
import { MAX_WIRE_DEPTH, toWireJs } from '../../src/protocol/wire-js.js';

/** The rule, written the slow and obvious way (Date's toJSON runs before a replacer sees it). */
function model(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, x: unknown) => {
    if (x instanceof Map)
      return [...x.keys()].every((k) => typeof k === 'string' && k !== '__proto__')
        ? Object.fromEntries(x)
        : [...x.entries()];
    if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
    if (typeof x === 'bigint')
      return Number.isSafeInteger(Number(x)) && BigInt(Number(x)) === x ? Number(x) : String(x);
    return x;
  });
}

const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString'));
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 40 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
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

  it('sends a Map with a "__proto__" key as pairs: no object key a JS reader would take for a prototype', () => {
    expect(toWireJs(new Map([['__proto__', { admin: true }]]))).toEqual([['__proto__', { admin: true }]]);
    expect(toWireJs(new Map([['constructor', 1]]))).toEqual({ constructor: 1 });
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

  it('with a budget, refuses a value that shares a subtree at every level instead of walking 2^n values', () => {
    let shared: unknown = new Map([['x', 1]]);
    for (let i = 0; i < 40; i++) shared = { a: shared, b: shared };
    expect(() => toWireJs(shared, 'base64', 100_000)).toThrow('more than 100000 values');
    const twice: Record<string, unknown> = { d: new Date(0) };
    twice.a = twice;
    twice.b = twice;
    expect(() => toWireJs(twice, 'base64', 100_000)).toThrow(RangeError);
    expect(toWireJs({ m: new Map([['x', 1]]) }, 'base64', 3)).toEqual({ m: { x: 1 } }); // within it
  });

  it('is what the client sends of a command value too (JSON and Recon)', () => {
    const value = { names: new Map([['a', 1]]), at: new Date(0), raw: Uint8Array.of(255) };
    expect(JSON.parse(encodeEnvelope('command', '/n', 'l', value, 'json'))).toMatchObject({
      body: { names: { a: 1 }, at: '1970-01-01T00:00:00.000Z', raw: '/w==' },
    });
    expect(encodeEnvelope('command', '/n', 'l', value, 'recon')).toBe(
      '@command(node:"/n",lane:l){names:{a:1},at:"1970-01-01T00:00:00.000Z",raw:%/w==}',
    );
  });

  it('is what the replay digest sees: states that differ inside a Map or a Date digest apart', () => {
    const a = canonicalJson({ m: new Map([['a', 1]]), d: new Date(0), n: 5n });
    expect(a).toBe('{"d":"1970-01-01T00:00:00.000Z","m":{"a":1},"n":5}');
    expect(canonicalJson({ m: new Map([['a', 2]]), d: new Date(0), n: 5n })).not.toBe(a);
    expect(canonicalJson({ m: new Map([['a', 1]]), d: new Date(1), n: 5n })).not.toBe(a);
  });
});
