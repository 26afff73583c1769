import { defineTwin, join, jsonEquals, value } from '../../src/model/index.js';
import { addCounts, NO_SPOTS, type SpotCounts } from './counts.js';

/**
 * A garage joins its levels' counts. It is `full` when no more than `reserved` spots are
 * free (and some are taken): it emits `garage.full` once, and `garage.available` once a
 * spot beyond the reserve frees up again. Stale spots count as neither free nor taken.
 */
export function garageModel(reserved: number) {
  return defineTwin({
    name: 'garage',
    route: '/garage/:garage',
    lanes: {
      levels: join<SpotCounts>({ from: 'level', lane: 'counts' }),
      counts: value<SpotCounts>(NO_SPOTS, { equals: jsonEquals }),
      full: value(false),
    },
    onJoin: {
      levels: {
        update: (ctx, _level, next, old) => ctx.lanes.counts.set(addCounts(ctx.lanes.counts.get(), old, next)),
        remove: (ctx, _level, old) => ctx.lanes.counts.set(addCounts(ctx.lanes.counts.get(), old, undefined)),
      },
    },
    onSet: {
      counts(ctx, { free, occupied }) {
        const full = occupied > 0 && free <= reserved;
        if (full === ctx.lanes.full.get()) return;
        ctx.lanes.full.set(full);
        ctx.emit(full ? 'garage.full' : 'garage.available', { free, occupied, reserved });
      },
    },
  });
}
