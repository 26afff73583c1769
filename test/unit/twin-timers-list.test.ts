/**
 * A twin's timer list (twin-timers.ts) against a plain model, driven as the shard drives it:
 * sets (earlier or later than the armed time), cancels, and heap entries coming due in
 * (due, name) order, stale ones included. The list answers `due` as the model does, holds
 * no entry that is neither due nor waiting for its heap entry, and is empty once every heap
 * entry came due. A cancelled timer used to stay in the list for good: a model that named
 * its timers per request (`timeout-<id>`) and cancelled them grew its twin without bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  armedOf,
  cancelDue,
  dueOf,
  setDue,
  takeDue,
  TIMER_FIRES,
  TIMER_MOVED,
  type TimerList,
  withTimer,
} from '../../src/actors/twin-timers.js';

type Op = { k: 'set'; name: string; due: number } | { k: 'cancel'; name: string } | { k: 'fire' };

const name = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('set' as const), name, due: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ k: fc.constant('cancel' as const), name }),
  fc.constant({ k: 'fire' as const }),
);

/** The shard's heap, as a sorted list of (due, name) entries. */
function popEarliest(heap: { due: number; name: string }[]): { due: number; name: string } | undefined {
  heap.sort((x, y) => x.due - y.due || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return heap.shift();
}

describe('twin timer list', () => {
  it('answers as the model does and keeps only timers that are due or await their heap entry', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        let list: TimerList = null;
        const model = new Map<string, number>();
        const heap: { due: number; name: string }[] = [];
        let now = 0;
        const fire = (): void => {
          const entry = popEarliest(heap);
          if (entry === undefined) return;
          now = Math.max(now, entry.due);
          const outcome = takeDue(list, entry.name, entry.due);
          if (outcome === TIMER_MOVED) heap.push({ due: armedOf(list, entry.name)!, name: entry.name });
          if (outcome === TIMER_FIRES) {
            expect(model.get(entry.name)).toBe(entry.due);
            model.delete(entry.name);
          }
        };
        for (const o of ops) {
          if (o.k === 'set') {
            const due = now + o.due;
            list = withTimer(list, o.name);
            if (setDue(list, o.name, due)) heap.push({ due, name: o.name });
            model.set(o.name, due);
          } else if (o.k === 'cancel') {
            cancelDue(list, o.name);
            model.delete(o.name);
          } else fire();
          for (const n of ['a', 'b', 'c', 'd', 'e']) expect(dueOf(list, n)).toBe(model.get(n));
          for (const t of list ?? [])
            expect(model.has(t.name) || heap.some((e) => e.name === t.name && e.due === t.armed)).toBe(true);
        }
        while (heap.length > 0) fire();
        expect(model.size).toBe(0);
        expect(list ?? []).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
