/**
 * A model that can keep state the store cannot encode, importable by shard workers (see
 * {@link unstorableModelSource}): `count` adds one to `n`; `grow` nests an object `levels`
 * deep in `shape` — built by the model, so the input bound at the edge never sees it.
 */
import { defineTwin, value, type TwinModel } from '../../src/index.js';

export function unstorableModels(): TwinModel<any>[] {
  return [
    defineTwin({
      name: 'crate',
      route: '/site/:site/crate/:crate',
      lanes: { n: value(0), shape: value<unknown>(null) },
      on: {
        count: (ctx) => ctx.lanes.n.set(ctx.lanes.n.get() + 1),
        grow(ctx, event) {
          let shape: unknown = 1;
          for (let i = 0; i < (event.data as { levels: number }).levels; i++) shape = { a: shape };
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
          ctx.lanes.shape.set(shape);
        },
      },
    }),
  ];
}

/** How workers build {@link unstorableModels}. */
export function unstorableModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'unstorableModels' };
}
