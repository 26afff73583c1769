/** Fuzzing paths, filters and route patterns (src/topology): values or TwinError, fast. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathFilter, RoutePattern, TwinPath, normalisePath } from '../../src/topology/index.js';
import { TIMEOUT, fuzz, twinError } from './runs.js';
import { mutated, nasty } from './mutate.js';

const segment = fc.oneof(
  fc.constantFrom('org', 'contoso', 'site', 'berlin', 'building', '41', 'floor', 'unit', 'room', 'sensors', ''),
  fc.constantFrom('*', '**', ':id', '{id}', '.', '..', 'x'.repeat(129)),
  nasty,
  fc.string({ maxLength: 6 }),
);
const pathish = mutated(
  fc
    .tuple(fc.boolean(), fc.array(segment, { maxLength: 40 }), fc.boolean())
    .map(([lead, s, trail]) => (lead ? '/' : '') + s.join('/') + (trail ? '/' : '')),
);

describe('topology fuzz', () => {
  it(
    'TwinPath.parse and normalisePath return or throw TWIN_PATH_INVALID',
    () => {
      fuzz(
        'topology: path',
        pathish,
        (s) => {
          const p = TwinPath.parse(s);
          // What parses, round-trips and reparses (no second spelling of the same twin).
          expect(TwinPath.parse(p.text).text).toBe(p.text);
          expect(normalisePath(p.text)).toBe(p.text);
          p.parent();
          p.prefix(p.depth);
        },
        twinError('TWIN_PATH_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'PathFilter.parse (with and without scopes) and matches return or throw TWIN_FILTER_INVALID',
    () => {
      fuzz(
        'topology: filter',
        fc.tuple(pathish, fc.option(fc.array(pathish, { maxLength: 3 }), { nil: undefined }), pathish),
        ([f, within, p]) => {
          const filter = PathFilter.parse(f, within);
          let path: TwinPath;
          try {
            path = TwinPath.parse(p);
          } catch {
            return;
          }
          filter.matches(path);
        },
        twinError('TWIN_FILTER_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'RoutePattern.parse and match return or throw TWIN_ROUTE_INVALID',
    () => {
      fuzz(
        'topology: route',
        fc.tuple(pathish, pathish),
        ([r, p]) => {
          const route = RoutePattern.parse(r);
          let path: TwinPath;
          try {
            path = TwinPath.parse(p);
          } catch {
            return;
          }
          route.match(path);
          route.test(path);
        },
        twinError('TWIN_ROUTE_INVALID'),
      );
    },
    TIMEOUT,
  );
});
