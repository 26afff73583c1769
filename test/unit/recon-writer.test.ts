import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ABSENT,
  EXTANT,
  ReconSyntaxError,
  attr,
  isAttr,
  isRecord,
  isSlot,
  parseRecon,
  record,
  slot,
  valueEquals,
  writeRecon,
} from '../../src/protocol/recon/index.js';
import type { Item, Value } from '../../src/protocol/recon/index.js';

describe('writeRecon: scalars', () => {
  it.each([
    ['hello', 'hello'],
    ['foo_bar-9', 'foo_bar-9'],
    ['héllo', 'héllo'],
    ['true', '"true"'],
    ['false', '"false"'],
    ['', '""'],
    ['a b', '"a b"'],
    ['1abc', '"1abc"'],
    ['-x', '"-x"'],
    ['/unit/1', '"/unit/1"'],
    ['say "hi"\\', '"say \\"hi\\"\\\\"'],
    ['line\nnext\ttab\r\b\f', '"line\\nnext\\ttab\\r\\b\\f"'],
    ['\u0001\u001f', '"\\u0001\\u001f"'],
    ['😀 ok', '"😀 ok"'],
    ['\ud800x', '"\\ud800x"'],
    ['x\udc00', '"x\\udc00"'],
  ])('text %j -> %s', (text, recon) => {
    expect(writeRecon(text)).toBe(recon);
    expect(parseRecon(recon)).toBe(text);
  });

  it.each([
    [0, '0'],
    [42, '42'],
    [-7, '-7'],
    [1.5, '1.5'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [-0, '-0.0'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [Number.MIN_VALUE, '5e-324'],
  ])('number %d -> %s', (n, recon) => {
    expect(writeRecon(n)).toBe(recon);
    expect(Object.is(parseRecon(recon), n)).toBe(true);
  });

  it('writes non-finite numbers as text, as Swim does', () => {
    expect(writeRecon(NaN)).toBe('NaN');
    expect(writeRecon(Infinity)).toBe('Infinity');
    expect(writeRecon(-Infinity)).toBe('"-Infinity"');
    expect(parseRecon(writeRecon(-Infinity))).toBe('-Infinity');
  });

  it('writes booleans, data and nothing', () => {
    expect(writeRecon(true)).toBe('true');
    expect(writeRecon(false)).toBe('false');
    expect(writeRecon(new Uint8Array([0, 1, 2, 3]))).toBe('%AAECAw==');
    expect(writeRecon(new Uint8Array([0xfb, 0xff]))).toBe('%+/8=');
    expect(writeRecon(new Uint8Array([]))).toBe('%');
    expect(writeRecon(ABSENT)).toBe('');
    expect(writeRecon(EXTANT)).toBe('');
  });
});

describe('writeRecon: records', () => {
  it.each<[string, Value, string]>([
    ['empty', record(), '{}'],
    ['values', record(1, 'a', true), '{1,a,true}'],
    ['slots', record(slot('x', 1), slot('y', EXTANT)), '{x:1,y:}'],
    ['odd keys', record(slot('a b', 1), slot(2, 3), slot(EXTANT, 4)), '{"a b":1,2:3,:4}'],
    ['lone extant', record(EXTANT), '{,}'],
    ['trailing extant', record(1, EXTANT), '{1,,}'],
    ['nested', record(record(), record(slot('a', record(1)))), '{{},{a:{1}}}'],
    ['attr only', record(attr('clear')), '@clear'],
    ['attr args', record(attr('update', record(slot('key', 'k'))), 42), '@update(key:k)42'],
    ['attr then negative', record(attr('a'), -1), '@a -1'],
    ['attr then text', record(attr('a'), 'x'), '@a x'],
    ['attr args then text', record(attr('a', 1), 'x'), '@a(1)x'],
    ['attr then quoted', record(attr('a'), 'x y'), '@a"x y"'],
    ['attr then body', record(attr('a'), slot('x', 1), 2), '@a{x:1,2}'],
    ['attr then record', record(attr('a'), record(slot('x', 1))), '@a{{x:1}}'],
    ['attr then extant', record(attr('a'), EXTANT), '@a{,}'],
    ['value then attr', record(1, attr('a')), '1@a'],
    ['slot then attr', record(slot('x', 1), attr('a')), '{x:1}@a'],
    ['interleaved', record(attr('a'), 1, attr('b'), 2), '@a 1@b 2'],
    ['single-value arg', record(attr('a', record(1))), '@a({1})'],
    ['empty arg', record(attr('a', record())), '@a({})'],
    ['attributed arg', record(attr('a', record(attr('b'), slot('x', 1)))), '@a(@b{x:1})'],
    ['extant-keyed arg', record(attr('a', record(slot(EXTANT, 1), 2))), '@a({:1,2})'],
    ['quoted attr name', record(attr('my attr'), attr('true')), '@"my attr"@true'],
    ['attributed item', record(record(attr('a'), 1), 2), '{@a 1,2}'],
  ])('%s', (_name, value, recon) => {
    expect(writeRecon(value)).toBe(recon);
    expect(valueEquals(parseRecon(recon), value)).toBe(true);
  });

  it('writes WARP-shaped records compactly', () => {
    const v = parseRecon('@event( node: "/a" , lane: m )  @update( key: k ) { x: 1 }');
    expect(writeRecon(v)).toBe('@event(node:"/a",lane:m)@update(key:k){x:1}');
  });

  it('refuses values that would nest beyond the reader limit, including cycles', () => {
    let deep: Value = 1;
    for (let i = 0; i < 300; i++) deep = record(deep);
    expect(() => writeRecon(deep)).toThrow(RangeError);
    const items: Item[] = [];
    const cyclic = record(attr('a'));
    (cyclic.items as Item[]).push(cyclic);
    items.push(cyclic);
    expect(() => writeRecon(cyclic)).toThrow(RangeError);
  });

  it('writes anything the reader accepts at the depth limit', () => {
    const v = parseRecon('{'.repeat(256) + '}'.repeat(256));
    expect(valueEquals(parseRecon(writeRecon(v)), v)).toBe(true);
  });
});

/**
 * The shapes Recon cannot tell apart (docs/recon.md): ABSENT inside a structure reads
 * back as EXTANT, a top-level EXTANT as ABSENT, and non-finite numbers as text.
 */
function normalise(v: Value, top = true): Value {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v === ABSENT || v === EXTANT) return top ? ABSENT : EXTANT;
  if (isRecord(v)) return record(...v.items.map(normaliseItem));
  return v;
}

function normaliseItem(item: Item): Item {
  if (isAttr(item)) return attr(item.key, normalise(item.value, false));
  if (isSlot(item)) return slot(normalise(item.key, false), normalise(item.value, false));
  return normalise(item, false);
}

const identLike = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/);
const text = fc.oneof(
  identLike,
  fc.constantFrom('true', 'false', 'NaN', '', '-', '0', '@', '{}', '"', "'", '\\', '#'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const scalar: fc.Arbitrary<Value> = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.uint8Array({ maxLength: 7 }),
  fc.constant(ABSENT),
  fc.constant(EXTANT),
);

const { value: arbValue } = fc.letrec<{ value: Value; record: Value; item: Item }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('record')),
  record: fc.array(tie('item'), { maxLength: 5 }).map((items) => record(...items)),
  item: fc.oneof(
    { depthSize: 'small' },
    tie('value'),
    fc.tuple(fc.oneof(identLike, text), tie('value')).map(([k, v]) => attr(k, v)),
    fc.tuple(tie('value'), tie('value')).map(([k, v]) => slot(k, v)),
  ),
}));

describe('writeRecon: properties', () => {
  it('round-trips generated values through parseRecon (modulo documented normalisation)', () => {
    fc.assert(
      fc.property(arbValue, (v) => {
        const out = writeRecon(v);
        const back = parseRecon(out);
        if (!valueEquals(back, normalise(v))) {
          throw new Error(`${JSON.stringify(out)} read back as ${JSON.stringify(writeRecon(back))}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('is canonical: writing what it read gives the same text', () => {
    fc.assert(
      fc.property(arbValue, (v) => {
        const out = writeRecon(v);
        expect(writeRecon(parseRecon(out))).toBe(out);
      }),
      { numRuns: 1000 },
    );
  });

  it('reader throws only ReconSyntaxError on corrupted writer output', () => {
    const corrupted = fc
      .tuple(
        arbValue,
        fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 2 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([v, edits]) => {
        let s = writeRecon(v);
        for (const [at, del, ins] of edits) {
          const i = s.length === 0 ? 0 : at % (s.length + 1);
          s = s.slice(0, i) + ins + s.slice(i + del);
        }
        return s;
      });
    fc.assert(
      fc.property(corrupted, (s) => {
        try {
          parseRecon(s);
        } catch (e) {
          if (!(e instanceof ReconSyntaxError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
