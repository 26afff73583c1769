import { defineTwin, value } from '../../src/model/index.js';

export type SpotStatus = 'free' | 'occupied' | 'stale';

/** What a spot's sensor sends (event type `reading`, the default of POST /events and MQTT). */
export interface SpotReading {
  occupied: boolean;
}

/**
 * A parking spot: its sensor reports `{ occupied }`. A spot that reports nothing for
 * `staleAfter` ms goes `stale` (its sensor is broken or covered) and says so once with
 * `spot.stale`; the next reading brings it back.
 */
export function spotModel(staleAfter: number) {
  return defineTwin({
    name: 'spot',
    route: '/garage/:garage/level/:level/spot/:spot',
    lanes: {
      status: value<SpotStatus>('stale'),
      lastSeen: value<number | null>(null),
    },
    on: {
      reading(ctx, event) {
        const occupied = (event.data as Partial<SpotReading> | null)?.occupied;
        if (typeof occupied !== 'boolean') return ctx.reject('a spot reading is { "occupied": true | false }');
        ctx.lanes.status.set(occupied ? 'occupied' : 'free');
        ctx.lanes.lastSeen.set(event.time);
        // Absence detection: every reading pushes the deadline back.
        ctx.timers.set('stale', staleAfter);
      },
    },
    onTimer: {
      stale(ctx) {
        ctx.lanes.status.set('stale');
        ctx.emit('spot.stale', { lastSeen: ctx.lanes.lastSeen.get() });
      },
    },
  });
}
