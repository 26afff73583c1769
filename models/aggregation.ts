import { SumCount, type ValueLane } from '../src/model/index.js';
import { replaceMembers } from './members.js';
import type { TemperatureStats } from './room.js';

/**
 * Building blocks shared by the unit, floor and building models: each level keeps the
 * same aggregates (temperature sum/count, occupied count, unoccupied room list, alarm
 * sources) and updates them from one child's old and new value, never by rescanning.
 */
export interface LevelLanes {
  temperature: ValueLane<number | null>;
  temperatureStats: ValueLane<TemperatureStats>;
  occupiedRooms: ValueLane<number>;
  unoccupiedRooms: ValueLane<string[]>;
  alarm: ValueLane<boolean>;
  alarmSources: ValueLane<string[]>;
}

/** Applies a change of one child's temperature contribution. */
export function applyTemperature(
  lanes: Pick<LevelLanes, 'temperature' | 'temperatureStats'>,
  old: TemperatureStats | null | undefined,
  next: TemperatureStats | null | undefined,
): void {
  const stats = new SumCount(lanes.temperatureStats.get());
  stats.merge(old, next);
  lanes.temperatureStats.set(stats.toJSON());
  lanes.temperature.set(stats.mean);
}

/** A single room temperature as a partial aggregate. */
export function asStats(t: number | null | undefined): TemperatureStats | null {
  return typeof t === 'number' ? { sum: t, count: 1 } : null;
}

export function applyCount(
  lane: ValueLane<number>,
  old: number | null | undefined,
  next: number | null | undefined,
): void {
  const delta = (next ?? 0) - (old ?? 0);
  if (delta !== 0) lane.set(lane.get() + delta);
}

/** Replaces one child's members (room or sensor paths) in a sorted list lane. */
export function applyMembers(
  lane: ValueLane<string[]>,
  old: readonly string[] | null | undefined,
  next: readonly string[] | null | undefined,
): void {
  // Lane values are kept sorted, so no re-sort here: this runs on every child update.
  const current = lane.get();
  const updated = replaceMembers(current, old, next);
  if (updated !== current) lane.set(updated);
}
