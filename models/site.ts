import { defineTwin, join, jsonEquals, value } from '../src/model/index.js';
import { applyMembers } from './aggregation.js';
import { SITE_ROUTE } from './params.js';

/**
 * A site knows whether any fire or gas alarm is active in any of its buildings, and
 * which sensors raise it. Its alarm rising emits `evacuation` once; falling emits
 * `evacuation.cleared`.
 */
export function siteModel() {
  return defineTwin({
    name: 'site',
    route: SITE_ROUTE,
    lanes: {
      buildingAlarms: join<string[]>({ from: 'building', lane: 'alarmSources' }),
      alarm: value(false),
      alarmSources: value<string[]>([], { equals: jsonEquals }),
    },
    onJoin: {
      buildingAlarms: {
        update(ctx, _building, next, old) {
          applyMembers(ctx.lanes.alarmSources, old, next);
          ctx.lanes.alarm.set(ctx.lanes.alarmSources.get().length > 0);
        },
      },
    },
    onSet: {
      alarm(ctx, alarm) {
        if (alarm) ctx.emit('evacuation', { alarmSources: ctx.lanes.alarmSources.get() });
        else ctx.emit('evacuation.cleared', {});
      },
    },
  });
}
