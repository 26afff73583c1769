/**
 * Model sets for tests of the model-set contract, importable by shard workers: meters
 * count readings (times `step`; `loud` emits each count) and their zone sums them. The shard key is a plain
 * function (not shardKeyUpTo), so it must reach the workers inside the models.
 */
import { defineModelSet, defineTwin, join, value, type ShardKeyFn } from '../../src/index.js';

/** Up to the zone, written by hand: what shardKeyUpTo('zone') computes, without its `upTo` tag. */
export const zoneKey: ShardKeyFn = (path) => path.text.split('/').slice(0, 3).join('/');

function meterModel(step: number, loud = false) {
  return defineTwin({
    name: 'meter',
    route: '/zone/:zone/meter/:meter',
    lanes: { count: value(0) },
    on: {
      reading(ctx) {
        ctx.lanes.count.set(ctx.lanes.count.get() + step);
        if (loud) ctx.emit('meter.count', { count: ctx.lanes.count.get() });
      },
    },
  });
}

function zoneModel(label: string) {
  return defineTwin({
    name: 'zone',
    route: '/zone/:zone',
    lanes: { meters: join<number>({ from: 'meter', lane: 'count' }), total: value(0), label: value('') },
    onStart: (ctx) => ctx.lanes.label.set(label),
    onJoin: {
      meters: { update: (ctx, _k, next, old) => ctx.lanes.total.set(ctx.lanes.total.get() + next - (old ?? 0)) },
    },
  });
}

export const counterSet = defineModelSet({
  name: 'counters',
  module: import.meta.url,
  params: { step: 1, label: 'zone', loud: false },
  models: (p) => [zoneModel(p.label), meterModel(p.step, p.loud)],
  shardKey: zoneKey,
});

/** The same set behind a factory export. */
export function makeCounters() {
  return counterSet;
}

/** An export that is not a model set. */
export const notASet = { kind: 'something else' };

/** A set without its module: it runs on the calling thread only. */
export const localSet = defineModelSet({ name: 'local', models: [meterModel(1)] });
