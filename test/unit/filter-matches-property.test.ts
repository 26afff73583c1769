/**
 * ObserverRegistry.filterMatches (src/actors/observers.ts) keeps each twin's wildcard
 * matches in a cache and, when a few links came or went since, applies those changes to
 * it instead of matching every filter again. Against a full match: after any sequence of
 * links opened and closed, with twins' caches left behind by any number of changes (more
 * than the registry keeps, too), every twin's matches are the full match's, lane by
 * lane, in the same order (the order observers are told in).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObserverRegistry, type FilterMatches } from '../../src/actors/observers.js';
import type { LaneObserver } from '../../src/lanes/events.js';
import { PathFilter, TwinPath } from '../../src/topology/index.js';

const FILTERS = ['/a/**', '/a/*/c', '/a/b/*', '/*/b/c', '/x/**', '/a/b/c', '/**'].map((f) => PathFilter.parse(f));
const PATHS = ['/a/b/c', '/a/d/c', '/x/b/c', '/a/b/e', '/ab/b/c']; // '/ab/…': under no '/a' prefix
const LANES = ['v', 'w'];

type Op = { op: 'open'; filter: number; lane: number } | { op: 'close'; nth: number } | { op: 'read'; path: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('open' as const),
    filter: fc.integer({ min: 0, max: FILTERS.length - 1 }),
    lane: fc.integer({ min: 0, max: LANES.length - 1 }),
  }),
  fc.record({ op: fc.constant('close' as const), nth: fc.nat() }),
  fc.record({ op: fc.constant('read' as const), path: fc.integer({ min: 0, max: PATHS.length - 1 }) }),
);

/** Up to 200 operations, any length alike (the registry keeps the last 64 changes; fast-check's default sizes rarely pass that). */
const ops = fc.integer({ min: 1, max: 200 }).chain((n) => fc.array(op, { minLength: n, maxLength: n }));

function observer(): LaneObserver {
  return { onEvent: () => undefined };
}

/** What the matches hold, lane by lane, as observer numbers. */
function shape(m: FilterMatches, ids: Map<LaneObserver, number>): [string, number[]][] {
  return [...(m.byLane ?? new Map<string, LaneObserver[]>())]
    .map(([lane, list]): [string, number[]] => [lane, list.map((o) => ids.get(o)!)])
    .sort(([a], [b]) => a.localeCompare(b));
}

describe('ObserverRegistry.filterMatches', () => {
  it('a cache brought up to date matches a full match and the filters themselves, whatever links came and went', () => {
    fc.assert(
      fc.property(ops, (ops) => {
        const registry = new ObserverRegistry();
        const open: LaneObserver[] = [];
        /** Each open link's filter and lane, by observer. */
        const links = new Map<LaneObserver, { filter: PathFilter; lane: string }>();
        /** What the links' own filters say of a path: open links in order, per lane. */
        const truth = (path: string): [string, number[]][] => {
          const byLane = new Map<string, number[]>();
          for (const obs of open) {
            const { filter, lane } = links.get(obs)!;
            if (filter.matches(TwinPath.parse(path))) byLane.set(lane, [...(byLane.get(lane) ?? []), ids.get(obs)!]);
          }
          return [...byLane].sort(([a], [b]) => a.localeCompare(b));
        };
        const ids = new Map<LaneObserver, number>();
        const caches = new Map<number, FilterMatches | null>(PATHS.map((_, i) => [i, null]));
        const check = (i: number): void => {
          const cached = registry.filterMatches(PATHS[i]!, caches.get(i)!);
          caches.set(i, cached);
          const full = registry.filterMatches(PATHS[i]!, null);
          expect(shape(cached, ids), PATHS[i]).toEqual(shape(full, ids));
          expect(shape(full, ids), `${PATHS[i]} by the filters`).toEqual(truth(PATHS[i]!));
        };
        for (const o of ops) {
          if (o.op === 'open') {
            const obs = observer();
            ids.set(obs, ids.size);
            registry.addFilter(FILTERS[o.filter]!, LANES[o.lane]!, obs);
            links.set(obs, { filter: FILTERS[o.filter]!, lane: LANES[o.lane]! });
            open.push(obs);
          } else if (o.op === 'close') {
            if (open.length === 0) continue;
            const [obs] = open.splice(o.nth % open.length, 1);
            expect(registry.removeFilter(obs!)).toBe(true);
          } else check(o.path);
        }
        for (let i = 0; i < PATHS.length; i++) check(i);
      }),
      { numRuns: 300 },
    );
  });

  it('a cache exactly as far behind as the changes kept catches up; one further matches again', () => {
    for (const behind of [63, 64, 65, 66]) {
      const registry = new ObserverRegistry();
      const path = '/a/b/c';
      const cache = registry.filterMatches(path, null);
      for (let i = 0; i < behind; i++) registry.addFilter(FILTERS[i % FILTERS.length]!, 'v', observer());
      const caught = registry.filterMatches(path, cache);
      expect(caught.byLane?.get('v')).toEqual(registry.filterMatches(path, null).byLane?.get('v'));
    }
  });
});
