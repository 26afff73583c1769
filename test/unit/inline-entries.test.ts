import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEquals } from '../../src/lanes/equality.js';
import {
  decodeInline,
  encodedFitsInline,
  encodeInline,
  INLINE_FIELD,
  INLINE_MAX_BYTES,
  INLINE_MAX_ENTRIES,
  storedInline,
} from '../../src/lanes/inline-entries.js';
import { JoinLane } from '../../src/lanes/join-lane.js';
import type { LaneHost, LaneInfo } from '../../src/lanes/lane.js';
import { MapLane, type MapOptions } from '../../src/lanes/map-lane.js';
import type { StateWrite, StoredTwin } from '../../src/store/state-store.js';

const PATH = '/p/1';
const host: LaneHost = { path: PATH, noteChange() {}, afterWrite() {}, afterEntry() {} };
const info: LaneInfo<MapOptions<unknown>> = {
  name: 'kids',
  index: 0,
  persistent: true,
  options: { equals: jsonEquals },
};

function laneOf(kind: 'map' | 'join'): MapLane<unknown> {
  return kind === 'join' ? new JoinLane(info, host) : new MapLane(info, host);
}

/** What a store holds of the lane: the record's `$in` and the entries, as the runtime writes them. */
class ModelStore {
  record: Record<string, unknown> = {};
  readonly entries = new Map<string, unknown>();

  apply(out: readonly StateWrite[]): void {
    for (const w of out) {
      if (w.op === 'put') this.entries.set(w.key, w.value);
      else if (w.op === 'del' && w.key !== undefined) this.entries.delete(w.key);
      else throw new Error(`unexpected write ${w.op}`);
    }
  }

  /** A record write: the lane's `$in` as it is now (as encodeRecord builds it). */
  writeRecord(lane: MapLane<unknown>): void {
    const inline = lane.inlineEntries();
    this.record = inline ? { [INLINE_FIELD]: { [info.name]: inline } } : {};
  }

  stored(): StoredTwin {
    const entries = this.entries.size > 0 ? new Map([[info.name, new Map(this.entries)]]) : new Map();
    return { values: this.record, entries };
  }
}

const sorted = (lane: MapLane<unknown>): [string, unknown][] =>
  [...lane].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

type Op =
  | { op: 'update'; key: string; value: unknown }
  | { op: 'remove'; key: string }
  | { op: 'clear' }
  | { op: 'commit'; otherLane: boolean }
  | { op: 'restart' }
  | { op: 'peek' };

const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 45 }).map((n) => `${PATH}/c/${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('x', '/other/1', `${PATH}/`, '__proto__', '', `${PATH}x/1`) },
);
const valueArb = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 120 }),
  fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }),
  fc.record({ t: fc.double({ noNaN: true }), on: fc.boolean() }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('update' as const), key: keyArb, value: valueArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('remove' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('commit' as const), otherLane: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'peek' as const }) },
);

describe('small keyed lanes in the record (inline-entries)', () => {
  it('a lane stored by its writes restores the same entries, from one place only, within the bounds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('map' as const, 'join' as const),
        fc.array(opArb, { maxLength: 120 }),
        (kind, ops) => {
          let lane = laneOf(kind);
          const store = new ModelStore();
          for (const step of [...ops, { op: 'commit', otherLane: false } as const]) {
            if (step.op === 'update') lane.update(step.key, step.value);
            else if (step.op === 'remove') lane.remove(step.key);
            else if (step.op === 'clear') lane.clear();
            else if (step.op === 'peek') {
              // What the lane would put in a record now is its entries now, whatever was collected.
              const inline = lane.inlineEntries();
              if (inline) {
                const decoded = new Map<string, unknown>();
                decodeInline(inline, PATH, decoded);
                expect([...decoded].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))).toEqual(sorted(lane));
              }
            } else if (step.op === 'restart') {
              // Only between commits (a stopped twin's changes are written first).
              const out: StateWrite[] = [];
              if (lane.collect(out)) store.writeRecord(lane);
              store.apply(out);
              lane = laneOf(kind);
              lane.restore(store.stored(), 1, 1);
            } else {
              const out: StateWrite[] = [];
              const recordChanged = lane.collect(out);
              store.apply(out);
              // A lane that does not ask for a record write has the record as it stored it last.
              if (!recordChanged) expect(storedInline(store.stored(), info.name)).toEqual(lane.inlineEntries());
              // The record is rewritten when this lane says so, or another part of it changed.
              if (recordChanged || step.otherLane) store.writeRecord(lane);
              const inline = storedInline(store.stored(), info.name);
              expect(inline !== undefined && store.entries.size > 0).toBe(false);
              expect(lane.hasEntries()).toBe(store.entries.size > 0);
              if (lane.size > INLINE_MAX_ENTRIES) expect(inline).toBeUndefined();
              if (inline) expect(encodedFitsInline(inline, INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(true);
              const restored = laneOf(kind);
              restored.restore(store.stored(), 1, 1);
              expect(sorted(restored)).toEqual(sorted(lane));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('moves a lane out of the record past the bounds and back once it shrank to half', () => {
    const lane = laneOf('join');
    const store = new ModelStore();
    const commit = (): StateWrite[] => {
      const out: StateWrite[] = [];
      if (lane.collect(out)) store.writeRecord(lane);
      store.apply(out);
      return out;
    };
    for (let i = 0; i < INLINE_MAX_ENTRIES; i++) lane.update(`${PATH}/c/${i}`, i);
    expect(commit()).toEqual([]); // 32 small entries: all in the record
    expect(storedInline(store.stored(), 'kids')!.slice(0, 3)).toEqual([1, 'c/0', 0]); // keys relative to the twin
    lane.update(`${PATH}/c/32`, 32);
    expect(commit().filter((w) => w.op === 'put')).toHaveLength(33); // 33: every entry put, the record drops them
    expect(store.record).toEqual({});
    for (let i = 32; i > 16; i--) lane.remove(`${PATH}/c/${i}`);
    expect(commit().map((w) => w.op)).toEqual(Array(16).fill('del')); // 17 left: still entries
    lane.remove(`${PATH}/c/16`);
    const back = commit(); // 16 left: back in the record, every stored key deleted by name
    expect(back.every((w) => w.op === 'del')).toBe(true);
    expect(back).toHaveLength(17);
    expect(store.entries.size).toBe(0);
    expect(storedInline(store.stored(), 'kids')).toHaveLength(33);
  });

  it('counts keys as stored and values about as msgpack holds them', () => {
    const big = new Map([[`${PATH}/c/1`, 'x'.repeat(INLINE_MAX_BYTES)]]);
    expect(encodedFitsInline(encodeInline(big, PATH), INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(false);
    const paths = new Map(Array.from({ length: 10 }, (_, i) => [`${PATH}/${'segment/'.repeat(11)}${i}`, i] as const));
    // Entries of ~100 bytes: 990 in all with keys relative to the twin (it fits), 1,040 absolute (it does not).
    expect(encodedFitsInline(encodeInline(paths, PATH), INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(true);
    expect(encodedFitsInline(encodeInline(paths, null), INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(false);
    const many = new Map(Array.from({ length: INLINE_MAX_ENTRIES + 1 }, (_, i) => [`k${i}`, i] as const));
    expect(encodedFitsInline(encodeInline(many, null), INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)).toBe(false);
  });

  it('a join keeps keys that are no paths under its twin as they are (a model may update a join with any key)', () => {
    const lane = laneOf('join');
    const store = new ModelStore();
    lane.update(`${PATH}/c/1`, 1);
    lane.update('/elsewhere/2', 2);
    const out: StateWrite[] = [];
    expect(lane.collect(out)).toBe(true);
    store.writeRecord(lane);
    expect(storedInline(store.stored(), 'kids')).toEqual([0, `${PATH}/c/1`, 1, '/elsewhere/2', 2]);
    const restored = laneOf('join');
    restored.restore(store.stored(), 1, 1);
    restored.update(`${PATH}/c/3`, 3);
    restored.collect([]);
    expect(restored.inlineEntries()![0]).toBe(0); // still absolute after a restore
    expect(sorted(restored)).toEqual([
      ['/elsewhere/2', 2],
      [`${PATH}/c/1`, 1],
      [`${PATH}/c/3`, 3],
    ]);
  });

  it('skips what a lane never writes in `$in` (not an object, odd pairs, keys that are no strings)', () => {
    for (const field of [null, 7, 'x', [1, 2], { kids: 'no' }, { kids: [1, 'a'] }, { other: [0, 'a', 1] }])
      expect(storedInline({ values: { [INLINE_FIELD]: field }, entries: new Map() }, 'kids')).toBeUndefined();
    const into = new Map<string, unknown>();
    decodeInline([1, 'c/1', 'a', 7, 'b', 'c/2', 'c'], PATH, into);
    expect([...into]).toEqual([
      [`${PATH}/c/1`, 'a'],
      [`${PATH}/c/2`, 'c'],
    ]);
    const lane = laneOf('map');
    lane.restore({ values: { [INLINE_FIELD]: Object.create(null) as object }, entries: new Map() }, 1, 1);
    expect(lane.size).toBe(0);
  });
});
