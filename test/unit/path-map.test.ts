/**
 * PathMap (src/topology/path-map.ts) keeps its paths in buckets of their first segments, so
 * a wildcard link's open finds a shard's live twins (and the memory store's paths) under its
 * prefix without visiting all.
 * Against a plain filter of the map's keys: after any adds and removes of paths of any depth,
 * the paths under any prefix (shallower, as deep as, or deeper than a bucket) are the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathMap } from '../../src/topology/path-map.js';

/** Paths of 1 to 12 segments over a small alphabet, so prefixes and buckets are shared often. */
const path = fc
  .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 12 })
  .map((segments) => '/' + segments.join('/'));

const op = fc.oneof(
  fc.record({ op: fc.constant('add' as const), path }),
  fc.record({ op: fc.constant('remove' as const), path }),
  // A question: the first builds the buckets, the adds and removes after it keep them.
  fc.record({ op: fc.constant('under' as const), path: fc.oneof(path, fc.constant('')) }),
);

const twin = { live: true };

function under(paths: Iterable<string>, prefix: string): string[] {
  return [...paths].filter((p) => prefix === '' || p === prefix || p.startsWith(prefix + '/')).sort();
}

describe('PathMap.pathsUnder', () => {
  it('finds what a scan of every key finds, for any prefix, before and after its buckets exist', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }).chain((n) => fc.array(op, { minLength: n, maxLength: n })),
        fc.array(fc.oneof(path, fc.constant('')), { minLength: 1, maxLength: 10 }),
        (ops, prefixes) => {
          const map = new PathMap<typeof twin>();
          for (const o of ops) {
            if (o.op === 'add') map.set(o.path, twin);
            else if (o.op === 'remove') map.delete(o.path);
            else expect([...map.pathsUnder(o.path)].sort(), o.path).toEqual(under(map.keys(), o.path));
          }
          for (const prefix of prefixes)
            expect([...map.pathsUnder(prefix)].sort(), prefix).toEqual(under(map.keys(), prefix));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is a Map to everyone else, and clear empties the buckets too', () => {
    const live = new PathMap<typeof twin>();
    live.set('/a/b', twin).set('/a/b', twin).set('/a/b/c/d/e/f/g/h/i', twin);
    expect(live.size).toBe(2);
    expect(live.get('/a/b')).toBe(twin);
    expect(live.delete('/a/x')).toBe(false);
    expect([...live.pathsUnder('/a')].sort()).toEqual(['/a/b', '/a/b/c/d/e/f/g/h/i']);
    live.clear();
    expect([...live.pathsUnder('/a')]).toEqual([]);
    expect([...live.pathsUnder('/a/b/c/d/e/f/g/h')]).toEqual([]);
  });
});
