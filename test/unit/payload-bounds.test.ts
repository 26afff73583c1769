import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertStorable, checkPayload, isStorable } from '../../src/store/plain-data.js';

/** Nesting depth as checkPayload counts it: a scalar is 0, `{}` and `[]` are 1. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((d, c) => Math.max(d, depthOf(c)), 0);
}

/** True when `v` has a plain object with an own `"__proto__"` key at any depth (JSON.parse makes them). */
function hasProtoKey(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return true;
  return (Array.isArray(v) ? v : Object.values(v)).some(hasProtoKey);
}

/** `v` with a `"__proto__"` key (as JSON.parse makes one) added to one of its objects, or wrapped in one. */
function withProtoKey(v: unknown, pick: number): unknown {
  const objects: object[] = [];
  const collect = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    if (!Array.isArray(x)) objects.push(x);
    for (const c of Array.isArray(x) ? x : Object.values(x)) collect(c);
  };
  collect(v);
  const into = objects.length === 0 ? undefined : objects[pick % objects.length];
  if (into === undefined) return JSON.parse(`{"__proto__":${JSON.stringify(v)}}`);
  Object.defineProperty(into, '__proto__', { value: 1, enumerable: true, writable: true, configurable: true });
  return v;
}

function refused(v: unknown, max: number): string | null {
  try {
    checkPayload(v, max, 'data');
    return null;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('checkPayload', () => {
  it('refuses exactly the JSON values deeper than the limit (property)', () => {
    fc.assert(
      // (A "__proto__" key is refused whatever the depth: see the property below.)
      fc.property(
        fc.jsonValue({ maxDepth: 8 }).filter((v) => !hasProtoKey(v)),
        fc.integer({ min: 1, max: 8 }),
        (v, max) => {
          expect(refused(v, max)).toBe(depthOf(v) > max ? 'TWIN_PAYLOAD_TOO_DEEP' : null);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('takes 100 000 levels without overflowing its own stack', () => {
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(refused(JSON.parse(text), 64)).toBe('TWIN_PAYLOAD_TOO_DEEP');
  });

  it('refuses what cannot cross a thread or reach the store: functions, symbols, bigints, class instances, cycles', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refused({ f: () => 1 }, 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused([Symbol('s')], 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused({ n: 1n }, 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused({ d: new Map() }, 64)).toBe('TWIN_EVENT_INVALID');
    // Typed arrays other than bytes: msgpack writes a Float64Array as bytes that are not its own.
    expect(refused({ samples: new Float64Array([1.5]) }, 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused(new Int32Array(2), 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused(cycle, 64)).toBe('TWIN_PAYLOAD_TOO_DEEP');
  });

  it('accepts plain data, byte arrays, dates and prototype-less objects', () => {
    expect(
      refused(
        { temperature: 21.5, tags: ['a'], raw: new Uint8Array(3), at: new Date(0), nothing: null, flag: true },
        64,
      ),
    ).toBe(null);
    expect(refused(Object.assign(Object.create(null), { a: 1 }), 64)).toBe(null);
    expect(refused('text', 1)).toBe(null);
  });

  it('refuses a "__proto__" key at any depth, as JSON.parse makes it (the store would read it back renamed)', () => {
    const top = JSON.parse('{"temperature":21,"__proto__":{"x":1}}');
    expect(Object.keys(top)).toContain('__proto__'); // an own key, which for…in enumerates
    expect(refused(top, 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused(JSON.parse('{"__proto__":1}'), 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused(JSON.parse('{"a":[1,{"b":{"__proto__":null}}]}'), 64)).toBe('TWIN_EVENT_INVALID');
    expect(refused(JSON.parse('[{"__proto__":[]}]'), 64)).toBe('TWIN_EVENT_INVALID');
    expect(() => checkPayload(top, 64, 'the event data')).toThrow(
      /the event data has an object key "__proto__".*rename the key/,
    );
    // Keys that merely look like it are fine.
    expect(refused({ __proto_: 1, proto: 2, ['__proto__ ']: 3, constructor: 4 }, 64)).toBe(null);
  });

  it('refuses a JSON value with a "__proto__" key anywhere, accepts it without (property)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }).filter((v) => !hasProtoKey(v)),
        fc.nat(),
        (v, pick) => {
          expect(refused(v, 64)).toBe(null);
          expect(isStorable(v)).toBe(true);
          const poisoned = withProtoKey(v, pick);
          expect(refused(poisoned, 64)).toBe('TWIN_EVENT_INVALID');
          expect(isStorable(poisoned)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('isStorable and assertStorable refuse a "__proto__" key a model sets into a lane', () => {
    expect(isStorable(JSON.parse('{"a":{"b":[{"__proto__":1}]}}'))).toBe(false);
    const proto = Object.create(null) as Record<string, unknown>;
    proto['__proto__'] = 1; // on a prototype-less object, a plain assignment makes a key
    expect(isStorable({ nested: proto })).toBe(false);
    expect(() => assertStorable(JSON.parse('{"__proto__":{}}'), '/a/b', 'latest')).toThrow(
      expect.objectContaining({ code: 'TWIN_STATE_UNSTORABLE', message: expect.stringMatching(/"__proto__"/) }),
    );
    expect(() => assertStorable({ __proto_: 1 }, '/a/b', 'latest')).not.toThrow();
  });

  it('isStorable: what the store can encode, however a model built it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = { a: deep };
    expect(isStorable({ at: new Date(0), seen: new Map([['a', 1]]), n: 12n, list: [1, [2, [3]]] })).toBe(true);
    expect(isStorable(deep)).toBe(false);
    expect(isStorable({ s: Symbol('s') })).toBe(false);
    expect(isStorable({ big: 2n ** 70n })).toBe(false);
    expect(isStorable({ f: () => 1 })).toBe(false);
  });
});
