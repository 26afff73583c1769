/**
 * Structure-aware generators for the fuzz files: valid inputs with edits (truncation,
 * character and byte flips, insertions of the characters parsers trip on), deep nesting,
 * huge numbers, odd unicode. Purely random text rarely gets past a parser's first check.
 */
import fc from 'fast-check';

/** Text fragments parsers handle specially. */
export const NASTY = [
  '\u0000',
  '\uD800', // lone high surrogate
  '\uDC00', // lone low surrogate
  '\uD83D\uDE00',
  '\uFEFF',
  '\u2028',
  '\u202E',
  'é',
  '\r\n',
  '\t',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '1e999',
  '-0',
  '9007199254740993',
  '1'.repeat(400),
  'NaN',
  'Infinity',
  '%',
  '%zz',
  '\\',
  '\\u',
  '\\uD800',
  '"',
  "'",
  '/',
  '//',
  '..',
  '*',
  '**',
  '#',
  '+',
  '$',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '@',
  ':',
  ',',
  ' ',
];

export const nasty = fc.constantFrom(...NASTY);

/** One edit of a string: cut, insert a nasty fragment or random text, delete, duplicate, swap a character. */
function edit(s: string): fc.Arbitrary<string> {
  const at = fc.nat(Math.max(0, s.length));
  return fc.oneof(
    at.map((i) => s.slice(0, i)),
    fc
      .tuple(at, fc.oneof(nasty, fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 })))
      .map(([i, ins]) => s.slice(0, i) + ins + s.slice(i)),
    fc.tuple(at, fc.nat(6)).map(([i, n]) => s.slice(0, i) + s.slice(i + n)),
    fc.tuple(at, fc.nat(12)).map(([i, n]) => s.slice(0, i) + s.slice(i, i + n).repeat(3) + s.slice(i + n)),
    fc
      .tuple(at, fc.integer({ min: 0, max: 0xffff }))
      .map(([i, c]) => s.slice(0, i) + String.fromCharCode(c) + s.slice(i + 1)),
  );
}

/** `base` with 0-3 edits. */
export function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return base.chain((s) =>
    fc.nat(3).chain((n) => {
      let arb: fc.Arbitrary<string> = fc.constant(s);
      for (let k = 0; k < n; k++) arb = arb.chain(edit);
      return arb;
    }),
  );
}

/** `bytes` with 0-4 bit flips, a truncation, or appended junk. */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return base.chain((b) =>
    fc.oneof(
      fc.array(fc.tuple(fc.nat(Math.max(0, b.length - 1)), fc.nat(7)), { minLength: 1, maxLength: 4 }).map((flips) => {
        const c = Uint8Array.from(b);
        if (c.length > 0) for (const [i, bit] of flips) c[i]! ^= 1 << bit;
        return c;
      }),
      fc.nat(b.length).map((n) => b.slice(0, n)),
      fc.uint8Array({ minLength: 1, maxLength: 16 }).map((junk) => Uint8Array.from([...b, ...junk])),
      fc.tuple(fc.nat(b.length), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const c = Uint8Array.from(b);
        if (i < c.length) c[i] = v;
        return c;
      }),
    ),
  );
}

/** JSON text nested `n` deep in arrays or objects (up to a depth well past every limit). */
export const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean(), fc.boolean())
  .map(([n, obj, closed]) => {
    const open = obj ? '{"a":'.repeat(n) : '['.repeat(n);
    return open + '1' + (closed ? (obj ? '}' : ']').repeat(n) : '');
  });

/** JSON values with prototype keys, huge and odd numbers and odd strings mixed in. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(1e308, -1e308, 5e-324, -0, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER),
    fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 10 })),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(nasty, fc.string({ maxLength: 6 })), tie('v')), { maxLength: 4 }).map((kv) => {
      const o: Record<string, unknown> = {};
      // defineProperty: a "__proto__" key as data, the way JSON.parse makes it.
      for (const [k, v] of kv)
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  ),
})).v;

/** Text of {@link hostileJson}, sometimes mutated into almost-JSON, sometimes deep. */
export const hostileJsonText = fc.oneof(
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  mutated(hostileJson.map((v) => JSON.stringify(v) ?? 'null')),
  deepJson,
);
