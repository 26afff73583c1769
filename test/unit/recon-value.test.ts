import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ABSENT,
  EXTANT,
  attr,
  body,
  fromJs,
  get,
  head,
  isValue,
  parseRecon,
  record,
  slot,
  tag,
  toJs,
  valueEquals,
  withBody,
  writeRecon,
} from '../../src/protocol/recon/index.js';
import type { Value } from '../../src/protocol/recon/index.js';

describe('record helpers', () => {
  const v = parseRecon('@update(key:k){x:1,@y:2}');

  it('tag, head, get', () => {
    expect(tag(v)).toBe('update');
    expect(tag(parseRecon('{x:1}'))).toBeUndefined();
    expect(tag(42)).toBeUndefined();
    expect(valueEquals(head(v), attr('update', record(slot('key', 'k'))))).toBe(true);
    expect(head(42)).toBe(42);
    expect(head(record())).toBe(ABSENT);
    expect(get(v, 'x')).toBe(1);
    expect(valueEquals(get(v, 'update'), record(slot('key', 'k')))).toBe(true);
    expect(get(v, 'missing')).toBe(ABSENT);
    expect(get('x', 'x')).toBe(ABSENT);
    expect(get(parseRecon('{{a}:1}'), record('a'))).toBe(1);
  });

  it('body drops the head and unwraps a lone value', () => {
    expect(body(parseRecon('@a 1'))).toBe(1);
    expect(valueEquals(body(parseRecon('@a{1}')), 1)).toBe(true);
    expect(valueEquals(body(parseRecon('@a{x:1}')), record(slot('x', 1)))).toBe(true);
    expect(valueEquals(body(parseRecon('@a{{x:1}}')), record(slot('x', 1)))).toBe(true);
    expect(valueEquals(body(parseRecon('@a 1@b')), record(1, attr('b')))).toBe(true);
    expect(body(parseRecon('@a'))).toBe(ABSENT);
    expect(body('x')).toBe(ABSENT);
  });

  it('withBody is the inverse of body for every body except EXTANT', () => {
    const bodies: Value[] = [
      1,
      'x',
      record(),
      record(1),
      record(1, 2),
      record(slot('x', 1)),
      record(attr('b')),
      ABSENT,
    ];
    for (const b of bodies) expect(valueEquals(body(withBody(attr('a'), b)), b)).toBe(true);
    expect(body(withBody(attr('a'), EXTANT))).toBe(ABSENT);
  });

  it('valueEquals compares structurally', () => {
    expect(valueEquals(record(slot('x', new Uint8Array([1]))), record(slot('x', new Uint8Array([1]))))).toBe(true);
    expect(valueEquals(new Uint8Array([1]), new Uint8Array([2]))).toBe(false);
    expect(valueEquals(NaN, NaN)).toBe(true);
    expect(valueEquals(0, -0)).toBe(false);
    expect(valueEquals(ABSENT, EXTANT)).toBe(false);
    expect(valueEquals(record(1), record(1, 2))).toBe(false);
    expect(valueEquals(attr('a'), slot('a'))).toBe(false);
    expect(valueEquals('1', 1)).toBe(false);
    expect(isValue(attr('a'))).toBe(false);
    expect(isValue(record())).toBe(true);
  });
});

describe('toJs', () => {
  it('maps scalars and nothing', () => {
    expect(toJs(ABSENT)).toBeUndefined();
    expect(toJs(EXTANT)).toBeNull();
    expect(toJs('a')).toBe('a');
    expect(toJs(1.5)).toBe(1.5);
    expect(toJs(false)).toBe(false);
    expect(toJs(new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
  });

  it('maps records to objects, arrays or tagged arrays', () => {
    expect(toJs(parseRecon('{x:1,y:{2,3},z:}'))).toEqual({ x: 1, y: [2, 3], z: null });
    expect(toJs(parseRecon('{}'))).toEqual({});
    expect(toJs(parseRecon('@update(key:k){v:1}'))).toEqual({ '@update': { key: 'k' }, v: 1 });
    expect(toJs(parseRecon('@clear'))).toEqual({ '@clear': null });
    expect(toJs(parseRecon('{1,x:2,@a}'))).toEqual([1, { $key: 'x', $value: 2 }, { '@a': null }]);
    expect(toJs(parseRecon('{x:1,x:2}'))).toEqual([
      { $key: 'x', $value: 1 },
      { $key: 'x', $value: 2 },
    ]);
    expect(toJs(parseRecon('{1:2}'))).toEqual([{ $key: 1, $value: 2 }]);
    expect(toJs(parseRecon('{"@a":1}'))).toEqual([{ $key: '@a', $value: 1 }]);
  });

  it('adds a __proto__ key as data, not as a prototype', () => {
    const js = toJs(parseRecon('{"__proto__":{polluted:true}}')) as { [k: string]: unknown };
    expect(Object.getPrototypeOf(js)).toBe(Object.prototype);
    expect(Object.keys(js)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('fromJs', () => {
  it('maps JSON-like values', () => {
    expect(fromJs(undefined)).toBe(ABSENT);
    expect(fromJs(null)).toBe(EXTANT);
    expect(fromJs(10n)).toBe(10);
    expect(writeRecon(fromJs({ x: 1, y: [2, 'a b'], z: null, skip: undefined }))).toBe('{x:1,y:{2,"a b"},z:}');
    expect(writeRecon(fromJs({ '@point': null, x: 1 }))).toBe('@point{x:1}');
    expect(writeRecon(fromJs({ '@': 1 }))).toBe('{"@":1}');
    expect(writeRecon(fromJs([undefined, null]))).toBe('{,,}');
    expect(writeRecon(fromJs(new Uint8Array([0, 1, 2, 3])))).toBe('%AAECAw==');
    expect(writeRecon(fromJs(new Uint8Array([7]).buffer))).toBe('%Bw==');
    expect(writeRecon(fromJs(Object.assign(Object.create(null), { a: 1 })))).toBe('{a:1}');
  });

  it('copies binary data so later mutation does not leak in', () => {
    const bytes = new Uint8Array([1]);
    const v = fromJs(bytes);
    bytes[0] = 9;
    expect(v).toEqual(new Uint8Array([1]));
  });

  it('rejects what has no Recon form', () => {
    expect(() => fromJs(() => 1)).toThrow(TypeError);
    expect(() => fromJs(Symbol('x'))).toThrow(TypeError);
    expect(() => fromJs(new Date(0))).toThrow(TypeError);
    expect(() => fromJs(new Map())).toThrow(TypeError);
    const cyclic: { [k: string]: unknown } = {};
    cyclic['self'] = cyclic;
    expect(() => fromJs(cyclic)).toThrow(RangeError);
  });

  it('round-trips JSON values through Recon text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const normal: unknown = JSON.parse(JSON.stringify(json));
        const v = fromJs(normal);
        const back = parseRecon(writeRecon(v));
        expect(valueEquals(back, v === EXTANT ? ABSENT : v)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('fromJs(toJs(v)) is the identity on object- and array-shaped JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const v = fromJs(JSON.parse(JSON.stringify(json)));
        expect(valueEquals(fromJs(toJs(v)), v)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
