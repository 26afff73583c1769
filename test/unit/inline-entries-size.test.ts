/**
 * The record-size bound of small keyed lanes (inline-entries.ts) must hold for every value
 * a lane may keep: assertStorable takes a Map or a Date as they are (msgpack encodes them;
 * the estimate also counts a Set's members, which lanes now refuse), so the estimate must count what they hold, or a lane of a few such values stays in
 * its twin's record at any size and the whole record is rewritten on every commit.
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { jsonEquals } from '../../src/lanes/equality.js';
import { encodedFitsInline, INLINE_MAX_BYTES, INLINE_MAX_ENTRIES } from '../../src/lanes/inline-entries.js';
import type { LaneHost, LaneInfo } from '../../src/lanes/lane.js';
import { MapLane, type MapOptions } from '../../src/lanes/map-lane.js';
import type { StateWrite } from '../../src/store/state-store.js';

const host: LaneHost = { path: '/p/1', noteChange() {}, afterWrite() {}, afterEntry() {} };
const info: LaneInfo<MapOptions<unknown>> = { name: 'm', index: 0, persistent: true, options: { equals: jsonEquals } };

const bigMap = (): Map<string, string> => new Map(Array.from({ length: 500 }, (_, i) => [`key ${i}`, `value ${i}`]));
const bigSet = (): Set<string> => new Set(Array.from({ length: 500 }, (_, i) => `member ${i}`));

describe('inline bound of values msgpack encodes natively (Map, Set)', () => {
  it('counts what a Map or a Set holds', () => {
    for (const v of [bigMap(), bigSet()]) {
      const encoded = [0, 'k', v];
      expect(pack(encoded).length).toBeGreaterThan(5 * INLINE_MAX_BYTES);
      expect(encodedFitsInline(encoded, INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(false);
    }
    expect(encodedFitsInline([0, 'k', new Map([['a', 1]]), 'd', new Date(0)], 32, 1024)).toBe(true);
  });

  it('a map lane whose values are large Maps leaves the record', () => {
    const lane = new MapLane<unknown>(info, host);
    lane.update('a', bigMap());
    lane.update('b', new Map([['nested', bigMap()]]));
    const out: StateWrite[] = [];
    lane.collect(out);
    expect(out.filter((w) => w.op === 'put')).toHaveLength(2);
    expect(lane.inlineEntries()).toBeUndefined();
  });
});
