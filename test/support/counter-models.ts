/**
 * A model set that counts how often each event was applied, for the cluster's failover
 * tests: a `counter` twin keeps `applied` (event id → times applied) and `total`. After a
 * kill -9 and a takeover, every acknowledged event id must be there exactly once.
 */
import { defineModelSet, defineTwin, map, shardKeyUpTo, value } from '../../src/index.js';

export const modelSet = defineModelSet({
  name: 'applied-counter',
  module: import.meta.url,
  models: () => [
    defineTwin({
      name: 'counter',
      route: '/group/:group/counter/:counter',
      lanes: { applied: map<number>(), total: value(0) },
      on: {
        tick(ctx, event) {
          ctx.lanes.applied.update(event.id, (ctx.lanes.applied.get(event.id) ?? 0) + 1);
          ctx.lanes.total.set(ctx.lanes.total.get() + 1);
        },
      },
    }),
  ],
  // Every counter its own shard key: the counters spread over every vshard.
  shardKey: shardKeyUpTo('counter'),
});
