import { describe, it, expect } from 'vitest';
import {
  ABSENT,
  EXTANT,
  attr,
  parseRecon,
  record,
  slot,
  valueEquals,
  writeRecon,
} from '../../src/protocol/recon/index.js';
import {
  WarpProtocolError,
  bodyFromJson,
  bodyToJson,
  isMapBody,
  mapClear,
  mapRemove,
  mapUpdate,
  parseMapBody,
  writeMapBody,
} from '../../src/protocol/warp/index.js';
import type { MapAction } from '../../src/protocol/warp/index.js';
import type { Value } from '../../src/protocol/recon/index.js';

function expectAction(actual: MapAction, expected: MapAction): void {
  expect(actual.kind).toBe(expected.kind);
  const a = actual as Partial<{ key: Value; value: Value; count: number }>;
  if ('key' in expected) expect(valueEquals(a.key ?? ABSENT, expected.key)).toBe(true);
  if ('value' in expected) expect(valueEquals(a.value ?? ABSENT, expected.value)).toBe(true);
  if ('count' in expected) expect(a.count).toBe(expected.count);
}

describe('map-lane bodies', () => {
  it.each<[MapAction, string, unknown]>([
    [{ kind: 'update', key: 'k', value: 42 }, '@update(key:k)42', { update: { key: 'k', value: 42 } }],
    [
      { kind: 'update', key: 'k', value: record(slot('x', 1)) },
      '@update(key:k){x:1}',
      { update: { key: 'k', value: { x: 1 } } },
    ],
    [
      { kind: 'update', key: record(1, 2), value: record(1) },
      '@update(key:{1,2}){{1}}',
      { update: { key: [1, 2], value: [1] } },
    ],
    [{ kind: 'update', key: 'k', value: ABSENT }, '@update(key:k)', { update: { key: 'k' } }],
    [
      { kind: 'update', key: 'k', value: record(attr('point'), slot('x', 1)) },
      '@update(key:k)@point{x:1}',
      { update: { key: 'k', value: { '@point': null, x: 1 } } },
    ],
    [{ kind: 'remove', key: 7 }, '@remove(key:7)', { remove: { key: 7 } }],
    [{ kind: 'clear' }, '@clear', { clear: true }],
    [{ kind: 'take', count: 3 }, '@take(3)', { take: 3 }],
    [{ kind: 'drop', count: 0 }, '@drop(0)', { drop: 0 }],
  ])('%o', (action, recon, json) => {
    const value = writeMapBody(action);
    expect(writeRecon(value)).toBe(recon);
    expect(isMapBody(value)).toBe(true);
    expectAction(parseMapBody(parseRecon(recon)), action);
    expect(bodyToJson(value)).toEqual(json);
    expect(valueEquals(bodyFromJson(json), value)).toBe(true);
  });

  it('has shorthands', () => {
    expect(writeRecon(mapUpdate('k', 'v'))).toBe('@update(key:k)v');
    expect(writeRecon(mapRemove('k'))).toBe('@remove(key:k)');
    expect(writeRecon(mapClear())).toBe('@clear');
  });

  it('reads Swim spellings with spaces and quoted keys', () => {
    expectAction(parseMapBody(parseRecon('@update(key: "a b") {x: 1}')), {
      kind: 'update',
      key: 'a b',
      value: record(slot('x', 1)),
    });
    expectAction(parseMapBody(parseRecon('@remove(key:"k", extra:1)')), { kind: 'remove', key: 'k' });
    expectAction(parseMapBody(parseRecon('@update(key:)1')), { kind: 'update', key: EXTANT, value: 1 });
  });

  it.each([
    ['42', /must start with @update/],
    ['{x:1}', /must start with @update/],
    ['@upsert(key:k)', /unknown map action @upsert/],
    ['@update', /missing its key/],
    ['@update(k)', /missing its key/],
    ['@remove(id:1)', /missing its key/],
    ['@take(-1)', /non-negative integer/],
    ['@drop(1.5)', /non-negative integer/],
    ['@take', /non-negative integer/],
  ])('rejects %j', (text, reason) => {
    expect(() => parseMapBody(parseRecon(text))).toThrow(WarpProtocolError);
    expect(() => parseMapBody(parseRecon(text))).toThrow(reason);
  });

  it('rejects bad counts when writing', () => {
    expect(() => writeMapBody({ kind: 'take', count: -1 })).toThrow(WarpProtocolError);
    expect(() => writeMapBody({ kind: 'drop', count: NaN })).toThrow(WarpProtocolError);
  });

  it('sends malformed map bodies as plain values in JSON', () => {
    expect(isMapBody(parseRecon('@update'))).toBe(true);
    expect(bodyToJson(parseRecon('@update'))).toEqual({ '@update': null });
    expect(isMapBody(parseRecon('{update:1}'))).toBe(false);
  });
});
