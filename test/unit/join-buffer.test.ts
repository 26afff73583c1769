import { describe, expect, it } from 'vitest';
import { JoinBuffer, type JoinRound, type JoinUpdates } from '../../src/actors/join-buffer.js';
import { seeded } from '../support/fleet.js';

/** A taken round as a map, parent → batch, in the round's order. */
function asMap(round: JoinRound): Map<string, JoinUpdates> {
  const out = new Map<string, JoinUpdates>();
  for (let i = 0; i < round.length; i++) out.set(round.parent(i), round.updates(i));
  return out;
}

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
  return { updates: asMap(buffer.take()).get('/p')!, latest };
}

describe('JoinUpdates.canonicalize', () => {
  for (const n of [1, 5, 32, 33, 64, 65, 200]) {
    it(`orders a batch of ${n} pairs by (child, lane), keeping each pair's latest value`, () => {
      for (const seed of [1, 2, 3]) {
        const { updates, latest } = batch(n, seed);
        updates.canonicalize();
        const got = Array.from({ length: updates.length }, (_, i) => `${updates.child(i)}|${updates.lane(i)}`);
        const expected = [...latest.keys()].sort((x, y) => {
          const [cx, lx] = x.split('|') as [string, string];
          const [cy, ly] = y.split('|') as [string, string];
          return cx !== cy ? (cx < cy ? -1 : 1) : lx < ly ? -1 : lx > ly ? 1 : 0;
        });
        expect(got).toEqual(expected);
        expect(Array.from({ length: updates.length }, (_, i) => updates.value(i))).toEqual(
          got.map((k) => latest.get(k)),
        );
      }
    });
  }
});

describe('JoinBuffer with reused batches', () => {
  it('holds, step after step, the latest value per (lane, child) of each parent in first-touched order, like a map of maps', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rnd = seeded(seed);
      // Seed 4 remembers at most 3 parents between steps: it forgets them and starts over.
      const buffer = new JoinBuffer(seed === 4 ? 3 : undefined);
      for (let step = 0; step < 40; step++) {
        // The model: per parent, (lane, child) → latest value, in insertion order.
        const model = new Map<string, Map<string, { lane: string; child: string; value: number }>>();
        const adds = Math.floor(rnd() * 120);
        for (let i = 0; i < adds; i++) {
          const parent = `/p${Math.floor(rnd() * 6)}`;
          const lane = rnd() < 0.5 ? 'a' : 'b';
          // Up to 60 children: batches cross the size at which a parent switches to an index.
          const child = `${parent}/c${Math.floor(rnd() * (rnd() < 0.2 ? 60 : 5))}`;
          const value = step * 1000 + i;
          buffer.add(parent, lane, child, value);
          let pairs = model.get(parent);
          if (!pairs) model.set(parent, (pairs = new Map()));
          pairs.set(`${lane}|${child}`, { lane, child, value });
        }
        const taken = asMap(buffer.take());
        expect([...taken.keys()]).toEqual([...model.keys()]);
        for (const [parent, updates] of taken) {
          const got = Array.from({ length: updates.length }, (_, i) => ({
            lane: updates.lane(i),
            child: updates.child(i),
            value: updates.value(i),
          }));
          expect(got).toEqual([...model.get(parent)!.values()]);
          if (rnd() < 0.5) updates.canonicalize(); // as a join turn does, before the batch is reused
          // Most batches are reused; some are held (a parent still loading) and never come back.
          if (rnd() < 0.9) buffer.recycle(updates);
        }
        expect(buffer.size).toBe(0);
      }
    }
  });
});

describe('JoinBuffer rounds', () => {
  it('sends updates added while a taken round is applied to the next round, the taken one unchanged', () => {
    const buffer = new JoinBuffer();
    buffer.add('/a', 'x', '/a/1', 1);
    buffer.add('/b', 'x', '/b/1', 2);
    const first = buffer.take();
    expect(buffer.size).toBe(0);
    // Applying /a's batch makes /a (a cycle) and /c change again: the next round's business.
    buffer.add('/a', 'x', '/a/1', 3);
    buffer.add('/c', 'x', '/c/1', 4);
    expect(asMap(first).get('/a')!.value(0)).toBe(1);
    expect([...asMap(first).keys()]).toEqual(['/a', '/b']);
    for (let i = 0; i < first.length; i++) buffer.recycle(first.updates(i));
    const second = asMap(buffer.take());
    expect([...second.keys()]).toEqual(['/a', '/c']);
    expect(second.get('/a')!.value(0)).toBe(3);
    expect(second.get('/a')!.length).toBe(1);
    expect(buffer.size).toBe(0);
    expect(asMap(buffer.take()).size).toBe(0);
  });
});
