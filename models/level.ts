import { join, jsonEquals, SortedSet, value } from '../src/model/index.js';
import { applyCount, applyMembers, applyTemperature } from './aggregation.js';
import { sameStats, type TemperatureStats } from './room.js';

/**
 * The aggregates every level from the unit up keeps and hands to the level above
 * (see LevelLanes in aggregation.ts).
 */
export function aggregateLanes() {
  return {
    temperature: value<number | null>(null),
    temperatureStats: value<TemperatureStats>({ sum: 0, count: 0 }, { equals: sameStats }),
    occupiedRooms: value(0),
    // Transient: derived from the joins and rebuilt on start (see rebuildUnoccupied). A
    // building's list holds hundreds of room paths; persisting it would rewrite tens of
    // kilobytes per step whenever one room's occupancy changes.
    unoccupiedRooms: value<string[]>([], { equals: jsonEquals, transient: true }),
    alarm: value(false),
    alarmSources: value<string[]>([], { equals: jsonEquals }),
  };
}

/**
 * Lanes of a level above the unit (floor, building): joins of the child level's partial
 * aggregates, and the same aggregates for the level above.
 */
export function levelLanes(child: string) {
  return {
    childStats: join<TemperatureStats>({ from: child, lane: 'temperatureStats' }),
    childOccupied: join<number>({ from: child, lane: 'occupiedRooms' }),
    childUnoccupied: join<string[]>({ from: child, lane: 'unoccupiedRooms' }),
    childAlarms: join<string[]>({ from: child, lane: 'alarmSources' }),
    ...aggregateLanes(),
  };
}

type Lanes = ReturnType<typeof levelLanes>;
type L<K extends keyof Lanes> = ReturnType<Lanes[K]['create']>;
interface Ctx {
  lanes: { [K in keyof Lanes]: L<K> };
}

/** Rebuilds a floor's or building's `unoccupiedRooms` from its children's lists (onStart). */
export function rebuildUnoccupied(ctx: Ctx): void {
  const rooms: string[] = [];
  for (const [, list] of ctx.lanes.childUnoccupied) for (const room of list) rooms.push(room);
  ctx.lanes.unoccupiedRooms.set(new SortedSet(rooms).toArray());
}

/** Join hooks that keep a level's aggregates from its children's deltas. */
export const levelJoins = {
  childStats: {
    update: (ctx: Ctx, _k: string, next: TemperatureStats, old: TemperatureStats | undefined) =>
      applyTemperature(ctx.lanes, old, next),
  },
  childOccupied: {
    update: (ctx: Ctx, _k: string, next: number, old: number | undefined) =>
      applyCount(ctx.lanes.occupiedRooms, old, next),
  },
  childUnoccupied: {
    update: (ctx: Ctx, _k: string, next: string[], old: string[] | undefined) =>
      applyMembers(ctx.lanes.unoccupiedRooms, old, next),
  },
  childAlarms: {
    update(ctx: Ctx, _k: string, next: string[], old: string[] | undefined) {
      applyMembers(ctx.lanes.alarmSources, old, next);
      ctx.lanes.alarm.set(ctx.lanes.alarmSources.get().length > 0);
    },
  },
};
