import { defineTwin, join, jsonEquals, SortedSet, SumCount, value } from '../src/model/index.js';
import { ROOM_ROUTE } from './params.js';
import { summarize, type SensorSummary } from './readings.js';

/** Partial temperature aggregate a level hands to the level above: sum and count of room temperatures. */
export interface TemperatureStats {
  sum: number;
  count: number;
}

/**
 * `equals` of the stats lanes: what `jsonEquals` answers for two `{ sum, count }`, read by
 * name. `jsonEquals` walks keys generically, and V8 reads a fractional `sum` through a
 * computed key as a fresh heap number (16 B) per side and comparison.
 */
export function sameStats(a: TemperatureStats, b: TemperatureStats): boolean {
  return Object.is(a.sum, b.sum) && Object.is(a.count, b.count);
}

/**
 * A room joins a summary of its sensors' latest readings and keeps, incrementally: `temperature`
 * (mean of its climate sensors), `occupied` (any occupancy sensor says so) and `alarm`
 * (any fire/gasbio sensor in alarm), with `alarmSources` naming those sensors.
 */
export function roomModel() {
  return defineTwin({
    name: 'room',
    route: ROOM_ROUTE,
    lanes: {
      // Only what the room aggregates: unchanged summaries do not reach the room.
      sensors: join<SensorSummary>({ from: 'sensor', lane: 'latest', project: summarize }),
      occupied: value(false),
      temperature: value<number | null>(null),
      alarm: value(false),
      alarmSources: value<string[]>([], { equals: jsonEquals }),
      // Aggregate state kept in lanes so it survives restarts without a recompute.
      temperatureStats: value<TemperatureStats>({ sum: 0, count: 0 }, { equals: sameStats }),
      occupiedSensors: value(0),
    },
    onJoin: {
      sensors: {
        update(ctx, sensor, next, old) {
          const before = old?.temperature ?? null;
          if (next.temperature !== before) {
            const stats = new SumCount(ctx.lanes.temperatureStats.get());
            stats.replace(before, next.temperature);
            ctx.lanes.temperatureStats.set(stats.toJSON());
            ctx.lanes.temperature.set(stats.mean);
          }
          const occupiedDelta = Number(next.occupied) - Number(old?.occupied === true);
          if (occupiedDelta !== 0) {
            const n = ctx.lanes.occupiedSensors.get() + occupiedDelta;
            ctx.lanes.occupiedSensors.set(n);
            ctx.lanes.occupied.set(n > 0);
          }
          if (next.alarm !== (old?.alarm === true)) {
            const sources = SortedSet.fromSorted(ctx.lanes.alarmSources.get());
            if (next.alarm) sources.add(sensor);
            else sources.delete(sensor);
            ctx.lanes.alarmSources.set(sources.toArray());
            ctx.lanes.alarm.set(sources.size > 0);
          }
        },
      },
    },
  });
}
