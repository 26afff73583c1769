import { describe, expect, it } from 'vitest';
import { parseRecon, writeRecon } from '../../src/protocol/recon/index.js';
import {
  joinFrame,
  laneEventFromBody,
  laneEventFromJson,
  laneEventToBody,
  laneEventToJson,
  parseFrame,
} from '../../src/protocol/warp/index.js';
import type { LaneEvent } from '../../src/lanes/events.js';
import { matchesWhere, parseWhere, decodeCursor, encodeCursor } from '../../src/node/http/query.js';

const EVENTS: LaneEvent[] = [
  { type: 'value', value: 21.5 },
  { type: 'value', value: null },
  { type: 'value', value: { a: [1, 2], b: 'x' } },
  { type: 'update', key: '/a/b', value: true },
  { type: 'remove', key: 'k' },
  { type: 'clear' },
  { type: 'value', value: { update: 1 } },
  { type: 'value', value: [] },
];

describe('lane events as WARP bodies', () => {
  it('round-trip through Recon text (except [] which Recon writes as {})', () => {
    for (const e of EVENTS.slice(0, -1))
      expect(laneEventFromBody(parseRecon(writeRecon(laneEventToBody(e))))).toEqual(e);
    expect(writeRecon(laneEventToBody({ type: 'update', key: 'k', value: 1 }))).toBe('@update(key:k)1');
  });

  it('round-trip through JSON exactly, escaping values that look like map bodies', () => {
    for (const e of EVENTS) expect(laneEventFromJson(JSON.parse(JSON.stringify(laneEventToJson(e))))).toEqual(e);
    expect(laneEventToJson({ type: 'value', value: { update: 1 } })).toEqual({ $value: { update: 1 } });
  });
});

describe('WARP frames', () => {
  it('split batches per encoding and report bad parts without losing the good ones', () => {
    expect(parseFrame('@auth\n\n@bad(\n@deauth', 'recon').map((p) => p.ok)).toEqual([true, false, true]);
    expect(parseFrame('@auth\n@deauth', 'swim').map((p) => p.ok)).toEqual([false]);
    const json = parseFrame('[{"tag":"command","node":"/a","lane":"b","body":[]},{"tag":1}]', 'json');
    expect(json.map((p) => p.ok)).toEqual([true, false]);
    expect(json[0]).toMatchObject({ json: [] });
    expect(parseFrame('[[[[', 'json')[0]!.ok).toBe(false);
    expect(joinFrame(['{"tag":"auth"}', '{"tag":"deauth"}'], 'json')).toBe('[{"tag":"auth"},{"tag":"deauth"}]');
    expect(() => joinFrame(['@auth'], 'swim')).toThrow();
  });

  it('refuse a JSON frame nested past the bound whole, with the protocol error (server and client parse alike)', () => {
    const deep = '{"tag":"command","node":"/a","lane":"b","body":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    const parts = parseFrame(deep, 'json');
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ ok: false, error: { message: 'unreadable envelope: nested too deep' } });
    // Brackets inside strings are text, not nesting.
    const text = '{"tag":"command","node":"/a","lane":"b","body":"' + '['.repeat(1000) + '"}';
    expect(parseFrame(text, 'json')[0]!.ok).toBe(true);
  });
});

describe('subtree query clauses', () => {
  it('parse lane<op>value with JSON or text values and compare like types only', () => {
    expect(parseWhere('temperature>=22.5')).toEqual({ lane: 'temperature', op: '>=', value: 22.5 });
    expect(parseWhere('hvac=cool')).toEqual({ lane: 'hvac', op: '=', value: 'cool' });
    expect(() => parseWhere('>3')).toThrow(/where clause/);
    expect(matchesWhere(parseWhere('occupied=false'), { occupied: false })).toBe(true);
    expect(matchesWhere(parseWhere('t>22'), { t: null })).toBe(false);
    expect(matchesWhere(parseWhere('t>22'), {})).toBe(false);
    expect(matchesWhere(parseWhere('xs!=[]'), { xs: ['a'] })).toBe(true);
    expect(decodeCursor(encodeCursor('/org/é'))).toBe('/org/é');
    expect(() => decodeCursor('zzz')).toThrow();
  });
});
