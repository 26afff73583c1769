import { defineTwin, join, jsonEquals, value, window } from '../../src/model/index.js';
import { moveSpot, NO_SPOTS, type SpotCounts } from './counts.js';
import type { SpotStatus } from './spot.js';

const HOUR = 3_600_000;

/**
 * A level joins its spots' status and keeps the counts (for the garage) and the share of
 * reporting spots that are occupied, with its average over the last hour.
 */
export function levelModel() {
  return defineTwin({
    name: 'level',
    route: '/garage/:garage/level/:level',
    lanes: {
      spots: join<SpotStatus>({ from: 'spot', lane: 'status' }),
      counts: value<SpotCounts>(NO_SPOTS, { equals: jsonEquals }),
      occupancy: value(0),
      lastHour: window({ source: 'occupancy', kind: 'sliding', size: HOUR }),
    },
    onJoin: {
      spots: {
        update: (ctx, _spot, status, old) => ctx.lanes.counts.set(moveSpot(ctx.lanes.counts.get(), old, status)),
        remove: (ctx, _spot, old) => ctx.lanes.counts.set(moveSpot(ctx.lanes.counts.get(), old, undefined)),
      },
    },
    onSet: {
      counts(ctx, { free, occupied }) {
        ctx.lanes.occupancy.set(free + occupied === 0 ? 0 : occupied / (free + occupied));
      },
    },
  });
}
