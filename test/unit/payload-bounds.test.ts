import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPayload, isStorable } from '../../src/store/plain-data.js';

/** Nesting depth as checkPayload counts it: a scalar is 0, `{}` and `[]` are 1. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((d, c) => Math.max(d, depthOf(c)), 0);
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
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 8 }), (v, max) => {
        expect(refused(v, max)).toBe(depthOf(v) > max ? 'TWIN_PAYLOAD_TOO_DEEP' : null);
      }),
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
