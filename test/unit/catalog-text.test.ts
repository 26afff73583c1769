import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelCatalog, textDepth } from '../../src/actors/catalog.js';
import { buildingModels } from '../../models/index.js';
import { defineTwin, TwinPath, value } from '../../src/index.js';
import type { TwinModel } from '../../src/model/twin-model.js';

/**
 * Activation finds a twin's model and parent on the path text (`modelOfText`,
 * `parentOfText`: routes tested on cuts of the text, parent candidates known from the
 * routes). They must answer what `modelOf` and `parentOf` answer on a parsed path.
 */
function expectSameAsParsed(catalog: ModelCatalog, text: string): void {
  const at = TwinPath.parse(text);
  const depth = textDepth(at.text);
  expect(depth).toBe(at.depth);
  const model = catalog.modelOfText(at.text, depth);
  expect(model?.name, `model of ${text}`).toBe(catalog.modelOf(at)?.name);
  if (!model) return;
  const parent = catalog.parentOfText(at.text, depth, model);
  const expected = catalog.parentOf(at);
  expect(parent && { path: parent.path, model: parent.model.name }, `parent of ${text}`).toEqual(
    expected && { path: expected.path, model: expected.model.name },
  );
}

const SEGMENTS = ['a', 'b', 'ab', 'x'] as const;

/** A route of 1-5 segments, each a literal from a small alphabet or a parameter. */
const route = fc
  .array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.constant(':p')), { minLength: 1, maxLength: 5 })
  .map((segs) => '/' + segs.map((s, i) => (s === ':p' ? `:p${i}` : s)).join('/'));

/** A path over the same alphabet (plus one segment no route names), 1-6 segments deep. */
const path = fc
  .array(fc.constantFrom(...SEGMENTS, 'zz'), { minLength: 1, maxLength: 6 })
  .map((segs) => '/' + segs.join('/'));

describe('ModelCatalog on path text', () => {
  it('agrees with modelOf/parentOf on random route sets and paths', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(route, { minLength: 1, maxLength: 8 }),
        fc.array(path, { maxLength: 30 }),
        (routes, paths) => {
          const models: TwinModel<any>[] = routes.map((r, i) =>
            defineTwin({ name: `m${i}`, route: r, lanes: { v: value(0) } }),
          );
          let catalog: ModelCatalog;
          try {
            catalog = new ModelCatalog(models);
          } catch {
            return; // two routes of one shape (`:p0` vs `:p1` at the same place): not a valid set
          }
          for (const p of paths) expectSameAsParsed(catalog, p);
          // Paths the routes themselves describe, with each parameter filled in both ways.
          for (const r of routes) {
            expectSameAsParsed(catalog, r.replace(/:p\d+/g, 'a'));
            expectSameAsParsed(catalog, r.replace(/:p\d+/g, 'zz'));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees with modelOf/parentOf on the building model, every level and a path of no model', () => {
    const catalog = new ModelCatalog(buildingModels());
    const room = '/org/o/site/s/building/b/floor/3/unit/u/room/4';
    for (const p of [
      '/org/o',
      '/org/o/site/s',
      '/org/o/site/s/building/b',
      '/org/o/site/s/building/b/floor/3',
      '/org/o/site/s/building/b/floor/3/unit/u',
      room,
      `${room}/sensors/climate`,
      `${room}/sensors/occupancy`,
      `${room}/nothing/here`,
      '/elsewhere/x',
    ])
      expectSameAsParsed(catalog, p);
    const sensor = catalog.modelOfText(`${room}/sensors/climate`, 14)!;
    expect(catalog.parentOfText(`${room}/sensors/climate`, 14, sensor)?.path).toBe(room);
  });
});
