import { command, defineTwin, join, SortedSet, value } from '../src/model/index.js';
import { applyMembers, applyTemperature, asStats } from './aggregation.js';
import { aggregateLanes } from './level.js';
import { UNIT_ROUTE } from './params.js';

/**
 * A unit (apartment, office suite) aggregates its rooms and can be `secured` by
 * command; a room occupied while the unit is secured raises `security.alert` once.
 */
export function unitModel() {
  return defineTwin({
    name: 'unit',
    route: UNIT_ROUTE,
    lanes: {
      roomTemperature: join<number | null>({ from: 'room', lane: 'temperature' }),
      roomOccupied: join<boolean>({ from: 'room', lane: 'occupied' }),
      roomAlarms: join<string[]>({ from: 'room', lane: 'alarmSources' }),
      ...aggregateLanes(),
      secured: value(false),
      secure: command<boolean>({
        parse: (v) => {
          if (typeof v !== 'boolean') throw new Error('secure takes true or false');
          return v;
        },
      }),
      securityAlert: value(false),
    },
    onJoin: {
      roomTemperature: { update: (ctx, _room, t, old) => applyTemperature(ctx.lanes, asStats(old), asStats(t)) },
      roomOccupied: {
        update(ctx, room, occupied, old) {
          if (occupied === old) return;
          const n = ctx.lanes.occupiedRooms.get() + (occupied ? 1 : 0) - (old ? 1 : 0);
          ctx.lanes.occupiedRooms.set(n);
          // A room is listed as unoccupied from the moment the unit knows it.
          applyMembers(ctx.lanes.unoccupiedRooms, old === false ? [room] : NO_ROOMS, occupied ? NO_ROOMS : [room]);
        },
      },
      roomAlarms: {
        update(ctx, _room, sources, old) {
          applyMembers(ctx.lanes.alarmSources, old, sources);
          ctx.lanes.alarm.set(ctx.lanes.alarmSources.get().length > 0);
        },
      },
    },
    onCommand: {
      secure: (ctx, secured) => ctx.lanes.secured.set(secured),
    },
    // unoccupiedRooms is transient (see aggregateLanes): rebuilt from the rooms' joined state.
    onStart(ctx) {
      const rooms: string[] = [];
      for (const [room, occupied] of ctx.lanes.roomOccupied) if (occupied === false) rooms.push(room);
      ctx.lanes.unoccupiedRooms.set(new SortedSet(rooms).toArray());
    },
    onSet: {
      secured: (ctx) => checkSecurity(ctx.lanes, ctx.emit.bind(ctx)),
      occupiedRooms: (ctx) => checkSecurity(ctx.lanes, ctx.emit.bind(ctx)),
    },
  });
}

const NO_ROOMS: readonly string[] = [];

function checkSecurity(
  lanes: {
    secured: { get(): boolean };
    occupiedRooms: { get(): number };
    unoccupiedRooms: { get(): string[] };
    securityAlert: { get(): boolean; set(v: boolean): void };
  },
  emit: (type: string, data?: unknown) => void,
): void {
  const breach = lanes.secured.get() && lanes.occupiedRooms.get() > 0;
  if (breach === lanes.securityAlert.get()) return;
  lanes.securityAlert.set(breach);
  emit(breach ? 'security.alert' : 'security.alert.cleared', { occupiedRooms: lanes.occupiedRooms.get() });
}
