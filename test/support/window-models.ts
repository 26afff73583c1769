/**
 * Models for differential tests of window lanes, importable by shard workers (see
 * {@link windowModelSource}). Rooms (each its own shard key, so they spread over workers)
 * keep sampled and time-weighted windows of every kind over their occupancy and a level;
 * each closed hour is emitted and joined by the room's site, on another shard.
 */
import { defineTwin, join, reject, value, window, type TwinModel } from '../../src/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Reading {
  occupied: boolean;
  levels: number[];
}
const isReading = (data: unknown): data is Reading =>
  typeof data === 'object' &&
  data !== null &&
  typeof (data as Reading).occupied === 'boolean' &&
  Array.isArray((data as Reading).levels) &&
  (data as Reading).levels.every((l) => typeof l === 'number');

export function windowModels(): TwinModel<any>[] {
  const room = defineTwin({
    name: 'wroom',
    route: '/site/:site/room/:room',
    lanes: {
      occupied: value(false),
      level: value(0),
      hourly: window({
        source: 'occupied',
        sample: (o: boolean) => (o ? 1 : 0),
        kind: 'tumbling',
        size: HOUR,
        keep: 4,
        timeWeighted: true,
      }),
      quarters: window({
        source: 'level',
        kind: 'hopping',
        size: 30 * MIN,
        hop: 15 * MIN,
        keep: 6,
        timeWeighted: true,
      }),
      // A bound the scenarios pass (several readings a room within 20 min): its drops and
      // the trim of a restored record must agree at any worker count and across passivation.
      recent: window({ source: 'level', kind: 'sliding', size: 20 * MIN, timeWeighted: true, maxSamples: 3 }),
      sampled: window({ source: 'level', kind: 'tumbling', size: 10 * MIN, keep: 6 }),
      lastHour: value<number | null>(null),
    },
    on: {
      reading(ctx, event) {
        if (!isReading(event.data)) reject('a reading is { occupied, levels }');
        ctx.lanes.occupied.set(event.data.occupied);
        for (const l of event.data.levels) ctx.lanes.level.set(l); // one sample per turn: the last
      },
    },
    onWindow: {
      hourly: (ctx, w) => {
        ctx.lanes.lastHour.set(w.timeAvg);
        ctx.emit('hour', { start: w.start, timeAvg: w.timeAvg, count: w.count });
      },
    },
  });
  const site = defineTwin({
    name: 'wsite',
    route: '/site/:site',
    lanes: { rooms: join<number | null>({ from: 'wroom', lane: 'lastHour' }), busiest: value<number | null>(null) },
    onJoin: {
      rooms: {
        update(ctx) {
          let max: number | null = null;
          for (const [, v] of ctx.lanes.rooms) if (v !== null && (max === null || v > max)) max = v;
          ctx.lanes.busiest.set(max);
        },
      },
    },
  });
  return [room, site];
}

/** How workers build {@link windowModels}. */
export function windowModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'windowModels' };
}
