import { defineTwin, value, window } from '../src/model/index.js';
import { HOUR, SENSOR_ROUTE, type BuildingParams } from './params.js';
import { isAlarm, readingProblem, sensorKindOf, temperatureOf, type Reading } from './readings.js';

export type SensorStatus = 'ok' | 'alarm' | 'offline';

/**
 * A sensor twin: keeps its latest reading, when it last reported and its status, and
 * raises `sensor.offline` once when it has been silent for `offlineAfter`. Climate
 * sensors also keep hourly temperature windows.
 */
export function sensorModel(params: BuildingParams) {
  return defineTwin({
    name: 'sensor',
    route: SENSOR_ROUTE,
    lanes: {
      latest: value<Reading | null>(null),
      lastSeen: value<number | null>(null),
      status: value<SensorStatus>('ok'),
      hourlyTemperature: window({
        source: 'latest',
        sample: (r) => temperatureOf(r as Reading) ?? undefined,
        kind: 'tumbling',
        size: HOUR,
        keep: 48,
      }),
    },
    on: {
      reading(ctx, event) {
        const problem = readingProblem(sensorKindOf(ctx.path), event.data);
        if (problem) ctx.reject(problem);
        const reading = event.data as Reading;
        ctx.lanes.latest.set(reading);
        ctx.lanes.lastSeen.set(event.time);
        ctx.lanes.status.set(isAlarm(reading) ? 'alarm' : 'ok');
        // Absence detection: moving a deadline later costs no heap operation (see TwinTimers).
        ctx.timers.set('offline', params.offlineAfter);
      },
    },
    onTimer: {
      offline(ctx) {
        if (ctx.lanes.status.get() === 'offline') return;
        ctx.lanes.status.set('offline');
        ctx.emit('sensor.offline', { lastSeen: ctx.lanes.lastSeen.get(), silentFor: params.offlineAfter });
      },
    },
  });
}
