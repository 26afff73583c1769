/**
 * A model that can keep state the store cannot take, importable by shard workers (see
 * {@link unstorableModelSource}). Built by the model, so the input bound at the edge never
 * sees it: `grow` nests an object `levels` deep in a value lane and in a map entry; `proto`
 * puts an object with a `"__proto__"` key there; `tag` puts a map entry under a key of the
 * given length; `count` adds one to `n`. Each emits a derived event with a subject of
 * another twin (`/site/<site>/log`).
 */
import { defineTwin, map, value, type TwinModel } from '../../src/index.js';

export function unstorableModels(): TwinModel<any>[] {
  return [
    defineTwin({
      name: 'crate',
      route: '/site/:site/crate/:crate',
      lanes: { n: value(0), shape: value<unknown>(null), tags: map<unknown>() },
      on: {
        count(ctx) {
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
          ctx.emit('counted', { n: ctx.lanes.n.get() }, { subject: '/site/s/log' });
        },
        grow(ctx, event) {
          let shape: unknown = 1;
          for (let i = 0; i < (event.data as { levels: number }).levels; i++) shape = { a: shape };
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
          ctx.lanes.tags.update('deep', shape);
          ctx.lanes.shape.set(shape);
          ctx.emit('grown', {}, { subject: '/site/s/log' });
        },
        proto(ctx) {
          // A "__proto__" key as JSON.parse makes it: the store's decoder would read it back as "__proto_".
          const shape: unknown = JSON.parse('{"a":{"__proto__":{"x":1}}}');
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
          ctx.lanes.tags.update('deep', shape);
          ctx.lanes.shape.set(shape);
          ctx.emit('grown', {}, { subject: '/site/s/log' });
        },
        tag(ctx, event) {
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
          ctx.lanes.tags.update('k'.repeat((event.data as { keyLength: number }).keyLength), 1);
        },
      },
    }),
  ];
}

/** How workers build {@link unstorableModels}. */
export function unstorableModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'unstorableModels' };
}
