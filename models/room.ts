import { defineTwin, join, jsonEquals, SortedSet, SumCount, value } from '../src/index.js';
import { ROOM_ROUTE } from './params.js';
import { isAlarm, isOccupied, sensorKindOf, temperatureOf, type Reading } from './readings.js';

/** Partial temperature aggregate a level hands to the level above: sum and count of room temperatures. */
export interface TemperatureStats {
  sum: number;
  count: number;
}

/**
 * A room joins its sensors' latest readings and keeps, incrementally: `temperature`
 * (mean of its climate sensors), `occupied` (any occupancy sensor says so) and `alarm`
 * (any fire/gasbio sensor in alarm), with `alarmSources` naming those sensors.
 */
export function roomModel() {
  return defineTwin({
    name: 'room',
    route: ROOM_ROUTE,
    lanes: {
      sensors: join<Reading | null>({ from: 'sensor', lane: 'latest' }),
      occupied: value(false),
      temperature: value<number | null>(null),
      alarm: value(false),
      alarmSources: value<string[]>([], { equals: jsonEquals }),
      // Aggregate state kept in lanes so it survives restarts without a recompute.
      temperatureStats: value<TemperatureStats>({ sum: 0, count: 0 }, { equals: jsonEquals }),
      occupiedSensors: value(0),
    },
    onJoin: {
      sensors: {
        update(ctx, sensor, reading, old) {
          const kind = sensorKindOf(sensor);
          if (kind === 'climate' || temperatureOf(reading) !== null || temperatureOf(old) !== null) {
            const stats = new SumCount(ctx.lanes.temperatureStats.get());
            stats.replace(temperatureOf(old), temperatureOf(reading));
            ctx.lanes.temperatureStats.set(stats.toJSON());
            ctx.lanes.temperature.set(stats.mean);
          }
          const occupiedDelta = Number(isOccupied(reading)) - Number(isOccupied(old));
          if (occupiedDelta !== 0) {
            const n = ctx.lanes.occupiedSensors.get() + occupiedDelta;
            ctx.lanes.occupiedSensors.set(n);
            ctx.lanes.occupied.set(n > 0);
          }
          if (isAlarm(reading) !== isAlarm(old)) {
            const sources = SortedSet.fromSorted(ctx.lanes.alarmSources.get());
            if (isAlarm(reading)) sources.add(sensor);
            else sources.delete(sensor);
            ctx.lanes.alarmSources.set(sources.toArray());
            ctx.lanes.alarm.set(sources.size > 0);
          }
        },
      },
    },
  });
}
