/**
 * TurnLog.isRepeat (src/actors/turn-log.ts) against its definition: an entry repeats when
 * an earlier entry of the same turn changed the same lane and key, and a supply lane's
 * entries never repeat. Short logs scan; long ones (a parent's join turn over thousands of
 * children) mark repeats in one pass: both must answer alike, turn after turn on one log.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TurnLog } from '../../src/actors/turn-log.js';
import type { Lane } from '../../src/lanes/lane.js';

/** Stand-ins for lanes: the log reads only `kind` and compares them by identity. */
const lanes = [
  { kind: 'value', name: 'a' },
  { kind: 'value', name: 'b' },
  { kind: 'map', name: 'm' },
  { kind: 'join', name: 'j' },
  { kind: 'supply', name: 's' },
] as unknown as Lane[];

const entry = fc.tuple(
  fc.integer({ min: 0, max: lanes.length - 1 }),
  fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5'), { nil: undefined }),
);

/** A turn's notes, of any length up to 120 (fast-check's default sizes would rarely pass the scan limit). */
const turn = fc.integer({ min: 0, max: 120 }).chain((n) => fc.array(entry, { minLength: n, maxLength: n }));

describe('TurnLog.isRepeat', () => {
  it('answers as the definition does, for short and long turns on one reused log', () => {
    fc.assert(
      fc.property(fc.array(turn, { minLength: 1, maxLength: 4 }), (turns) => {
        const log = new TurnLog();
        for (const notes of turns) {
          log.begin();
          for (const [l, key] of notes) log.note(lanes[l]!, key, undefined, false);
          for (let i = 0; i < notes.length; i++) {
            const [l, key] = notes[i]!;
            const expected =
              lanes[l]!.kind !== 'supply' && notes.slice(0, i).some(([l2, key2]) => l2 === l && key2 === key);
            expect(log.isRepeat(i), `entry ${i} of ${notes.length}`).toBe(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
