import { defineTwin, join, value } from '../src/model/index.js';

/** An organisation: its sites (path → whether that site is in alarm) and an org-wide alarm. */
export function orgModel() {
  return defineTwin({
    name: 'org',
    route: '/org/:org',
    lanes: {
      sites: join<boolean>({ from: 'site', lane: 'alarm' }),
      alarmSites: value(0),
      alarm: value(false),
    },
    onJoin: {
      sites: {
        update(ctx, _site, alarm, old) {
          const n = ctx.lanes.alarmSites.get() + Number(alarm === true) - Number(old === true);
          ctx.lanes.alarmSites.set(n);
          ctx.lanes.alarm.set(n > 0);
        },
      },
    },
  });
}
