/**
 * The rule behind `isStorable` (src/store/plain-data.ts): what a lane accepts, the store
 * gives back as it was. msgpack writes some objects as something else — a `Set` or a
 * `RegExp` as an array, a class instance as a plain object, a `Float64Array` as bytes that
 * are not even its own — so a twin's state changed across a restart and nobody was told
 * (bug bash, 2026-12-07). Checked against a real LMDB store in a temp dir: every candidate
 * is either refused or read back equal, prototypes included.
 */
import { describe, expect, it } from 'vitest';
import { assertStorable, isStorable } from '../../src/store/plain-data.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { tempDir } from '../support/tmp.js';

class Reading {
  constructor(readonly value: number) {}
}

const CANDIDATES: [string, unknown][] = [
  ['a plain object', { a: 1, b: 'x', c: [1, { d: null }], e: true }],
  ['a prototype-less object', Object.assign(Object.create(null) as object, { k: 1 })],
  ['bytes', new Uint8Array([1, 2, 3])],
  ['a Buffer', Buffer.from('hi')],
  ['a date', new Date(1_700_000_000_000)],
  [
    'a Map of plain data',
    new Map<unknown, unknown>([
      ['a', { n: 1 }],
      [2, [3]],
    ]),
  ],
  ['a bigint', 2n ** 40n],
  ['a Set', new Set([1, 'b'])],
  ['a Map holding a Set', new Map([['s', new Set([1])]])],
  ['a Map holding a "__proto__" key in a value', new Map([['a', JSON.parse('{"__proto__":1,"z":2}')]])],
  ['a Float64Array', new Float64Array([1.5, -2])],
  ['an Int32Array', new Int32Array([7, 8])],
  ['a class instance', new Reading(21.5)],
  ['a RegExp', /x+/g],
  ['an Error', new Error('e')],
];

/** Equal, prototypes included (toEqual alone takes a plain object for a class instance). */
function sameAsStored(stored: unknown, original: unknown): void {
  if (original instanceof Uint8Array) {
    expect(stored).toBeInstanceOf(Uint8Array); // a Buffer may come back as a plain Uint8Array
    expect([...(stored as Uint8Array)]).toEqual([...original]);
    return;
  }
  expect(stored).toEqual(original);
  if (original === null || typeof original !== 'object') return;
  const proto: unknown = Object.getPrototypeOf(original);
  // A prototype-less object comes back as a plain one: the same keys and values.
  expect(Object.getPrototypeOf(stored)).toBe(proto === null ? Object.prototype : proto);
}

describe('what a lane accepts, the store gives back as it was (real LMDB)', () => {
  it('refuses exactly the values that would not survive a write and a read', async () => {
    const dir = tempDir('tf-storable-');
    const store = LmdbStateStore.open({ path: dir, durability: 'strict' });
    const accepted = CANDIDATES.filter(([, v]) => isStorable(v));
    await store.write(accepted.map(([name, v], i) => ({ op: 'record', path: `/t/${i}`, values: { [name]: v } })));
    await store.close();

    const again = LmdbStateStore.open({ path: dir, durability: 'strict' });
    try {
      accepted.forEach(([name, v], i) => sameAsStored(again.load(`/t/${i}`)!.values[name], v));
    } finally {
      await again.close();
    }
    expect(CANDIDATES.filter(([, v]) => !isStorable(v)).map(([name]) => name)).toEqual([
      'a Set',
      'a Map holding a Set',
      'a Map holding a "__proto__" key in a value',
      'a Float64Array',
      'an Int32Array',
      'a class instance',
      'a RegExp',
      'an Error',
    ]);
  });

  it('says which object a model set that cannot be stored', () => {
    expect(() => assertStorable({ seen: new Set(['a']) }, '/room/1', 'seen')).toThrow(
      expect.objectContaining({
        code: 'TWIN_STATE_UNSTORABLE',
        message: expect.stringMatching(/lane "seen" of \/room\/1: .*a Set object/),
      }),
    );
    expect(() => assertStorable({ r: new Reading(1) }, '/room/1', 'last')).toThrow(/a Reading object/);
  });
});
