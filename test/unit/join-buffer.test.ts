import { describe, expect, it } from 'vitest';
import { JoinBuffer } from '../../src/actors/join-buffer.js';
import { seeded } from '../support/fleet.js';

/** A parent's batch of `n` (lane, child) pairs, added in a seeded random order, some twice. */
function batch(n: number, seed: number) {
  const rnd = seeded(seed);
  const pairs = Array.from({ length: n }, (_, i) => ({
    lane: rnd() < 0.5 ? 'a' : 'b',
    child: `/p/c${Math.floor(rnd() * n)}-${i % 7}`,
  }));
  const buffer = new JoinBuffer();
  const latest = new Map<string, number>();
  for (let i = 0; i < pairs.length * 2; i++) {
    const { lane, child } = pairs[Math.floor(rnd() * pairs.length)]!;
    buffer.add('/p', lane, child, i);
    latest.set(`${child}|${lane}`, i);
  }
  return { updates: buffer.take().get('/p')!, latest };
}

describe('JoinUpdates.canonicalize', () => {
  for (const n of [1, 5, 32, 33, 200]) {
    it(`orders a batch of ${n} pairs by (child, lane), keeping each pair's latest value`, () => {
      for (const seed of [1, 2, 3]) {
        const { updates, latest } = batch(n, seed);
        updates.canonicalize();
        const got = updates.children.map((c, i) => `${c}|${updates.lanes[i]}`);
        const expected = [...latest.keys()].sort((x, y) => {
          const [cx, lx] = x.split('|') as [string, string];
          const [cy, ly] = y.split('|') as [string, string];
          return cx !== cy ? (cx < cy ? -1 : 1) : lx < ly ? -1 : lx > ly ? 1 : 0;
        });
        expect(got).toEqual(expected);
        expect(updates.values).toEqual(got.map((k) => latest.get(k)));
      }
    });
  }
});
