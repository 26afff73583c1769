/**
 * DedupeWindow (src/actors/dedupe.ts) against a plain model: after any sequence of adds,
 * with the window size changing between them (a node restarted with another
 * --dedupe-window), the window holds the last `size` hashes in order, and `contains`
 * answers for exactly those.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupeWindow } from '../../src/actors/dedupe.js';

describe('DedupeWindow', () => {
  it('keeps the last `size` hashes, oldest first, whatever the sizes were', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 8 })), { maxLength: 60 }),
        (adds) => {
          let window: number[] | null = null;
          const model: number[] = [];
          for (const [hash, size] of adds) {
            window = DedupeWindow.add(window, hash, size);
            model.push(hash);
            model.splice(0, Math.max(0, model.length - size));
            expect(window).toEqual(model);
          }
          for (let h = 0; h <= 40; h++) expect(DedupeWindow.contains(window, h)).toBe(model.includes(h));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('hashes (source, id) pairs apart at their boundary', () => {
    expect(DedupeWindow.hash('ab', 'c')).not.toBe(DedupeWindow.hash('a', 'bc'));
    expect(DedupeWindow.hash('dev', '1')).toBe(DedupeWindow.hash('dev', '1'));
    expect(Number.isSafeInteger(DedupeWindow.hash('dev', '1'))).toBe(true);
  });
});
