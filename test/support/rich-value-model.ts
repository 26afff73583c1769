/**
 * A model whose lanes and derived events hold what the store keeps but JSON has no type
 * for (a Map with string keys, one with number keys, a Date, bytes), importable by shard
 * workers (see {@link richValueModelSource}). `set` builds them from the event's data:
 * `{ names: [[k, v]…], at: <ms>, bytes: [n…] }`.
 */
import { defineModelSet, defineTwin, map, value, type TwinModel } from '../../src/index.js';

interface SetData {
  names: [string, number][];
  at: number;
  bytes: number[];
}

/** The lane value and event data `set` makes of `data`. */
export function richValue(data: SetData): Record<string, unknown> {
  return {
    byName: new Map(data.names),
    byNumber: new Map(data.names.map(([, v]) => [v, `n${v}`] as const)),
    at: new Date(data.at),
    raw: Uint8Array.from(data.bytes),
  };
}

export function richValueModels(): TwinModel<any>[] {
  return [
    defineTwin({
      name: 'album',
      route: '/album/:id',
      lanes: { meta: value<unknown>(null), entries: map<unknown>() },
      on: {
        set(ctx, event) {
          const data = event.data as SetData;
          ctx.lanes.meta.set(richValue(data));
          ctx.lanes.entries.update('names', new Map(data.names));
          ctx.emit('album.set', { byName: new Map(data.names), at: new Date(data.at) });
        },
        // Event data sharing a subtree at every level: 2^40 values to write out.
        bomb(ctx) {
          let shared: unknown = new Map([['x', 1]]);
          for (let i = 0; i < 40; i++) shared = { a: shared, b: shared };
          ctx.emit('album.bomb', shared);
        },
      },
    }),
  ];
}

/** How workers build {@link richValueModels}. */
export function richValueModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'richValueModels' };
}

/** {@link richValueModels} as a model set (cluster nodes load it by name and module). */
export const richValueSet = defineModelSet({
  name: 'rich-values',
  module: import.meta.url,
  models: richValueModels,
});
