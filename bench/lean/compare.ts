/**
 * The equivalence check of the lean yardstick: reads every twin of its fleet from a
 * runtime through the public API (`Runtime.read`) and lists where the two disagree
 * (room occupancy and temperature, unit lists, floor means and HVAC state, alarms up to
 * the org, hourly windows, sensor state). With `exact`, numbers must be bit-identical and
 * windows equal one by one (same steps on a simulated clock: the unit test); without it,
 * sums may differ in the last bits and windows are compared as totals per sensor (the
 * runtime's steps and wall-clock hours in bench/core are not the lean loop's).
 */
import { jsonEquals, type Runtime } from '../../src/index.js';
import { BUILDING, FLOOR, LeanBuilding, STATUS, UNIT } from './lean-building.js';

type Lanes = Record<string, unknown>;

const nul = (x: number): number | null => (Number.isNaN(x) ? null : x);

export async function compareWithRuntime(
  rt: Runtime,
  lean: LeanBuilding,
  exact: boolean,
  limit = 20,
): Promise<string[]> {
  const diffs: string[] = [];
  const t = lean.topo;
  const close = (a: unknown, b: unknown): boolean => {
    if (exact || typeof a !== 'number' || typeof b !== 'number') return Object.is(a, b);
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  };
  const check = (path: string, lane: string, ours: unknown, theirs: unknown, eq = jsonEquals): void => {
    if (diffs.length < limit && !eq(ours, theirs))
      diffs.push(`${path}#${lane}: runtime ${JSON.stringify(theirs)}, lean ${JSON.stringify(ours)}`);
  };
  const stats = (a: unknown, b: unknown): boolean => {
    const x = a as { sum: number; count: number };
    const y = b as { sum: number; count: number };
    return x.count === y.count && close(x.sum, y.sum);
  };
  const read = async (paths: readonly string[], each: (i: number, lanes: Lanes) => void): Promise<void> => {
    for (let from = 0; from < paths.length; from += 2000) {
      const chunk = paths.slice(from, from + 2000);
      const snaps = await Promise.all(chunk.map((p) => rt.read(p)));
      snaps.forEach((s, k) => each(from + k, s.lanes));
    }
  };

  await read(t.sensors.paths, (s, l) => {
    const p = t.sensors.paths[s]!;
    check(p, 'status', STATUS[lean.status[s]!], l.status);
    check(p, 'lastSeen', nul(lean.lastSeen[s]!), l.lastSeen);
    check(p, 'latest', lean.latest[s], l.latest);
    const theirs = Object.values(
      (l.hourlyTemperature ?? {}) as Record<
        string,
        {
          start: number;
          count: number;
          sum: number;
          min: number;
          max: number;
          closed: boolean;
          end: number;
          avg: number | null;
        }
      >,
    ).sort((a, b) => a.start - b.start);
    const ours = (lean.windows[s] ?? []).map((w) => ({
      start: w.start,
      end: w.end,
      count: w.count,
      sum: w.sum,
      avg: w.count > 0 ? w.sum / w.count : null,
      min: w.min,
      max: w.max,
      closed: w.closed,
    }));
    if (exact) check(p, 'hourlyTemperature', ours, theirs);
    else {
      const total = (ws: { count: number; sum: number }[]) =>
        ws.reduce((a, w) => ({ count: a.count + w.count, sum: a.sum + w.sum }), { count: 0, sum: 0 });
      check(p, 'hourlyTemperature (totals)', total(ours), total(theirs), stats);
    }
  });
  await read(t.rooms.paths, (r, l) => {
    const p = t.rooms.paths[r]!;
    check(p, 'temperature', nul(lean.rTemp[r]!), l.temperature, close);
    check(p, 'temperatureStats', { sum: lean.rSum[r], count: lean.rCount[r] }, l.temperatureStats, stats);
    check(p, 'occupied', lean.rOcc[r] === 1, l.occupied);
    check(p, 'occupiedSensors', lean.rOccSensors[r], l.occupiedSensors);
    check(p, 'alarm', lean.rAlarms[r]!.length > 0, l.alarm);
    check(p, 'alarmSources', lean.rAlarms[r], l.alarmSources);
  });
  for (const level of [UNIT, FLOOR, BUILDING]) {
    const paths = [t.sensors, t.rooms, t.units, t.floors, t.buildings][level]!.paths;
    const a = lean.agg[level]!;
    await read(paths, (i, l) => {
      const p = paths[i]!;
      check(p, 'temperature', nul(a.temp[i]!), l.temperature, close);
      check(p, 'temperatureStats', { sum: a.sum[i], count: a.count[i] }, l.temperatureStats, stats);
      check(p, 'occupiedRooms', a.occ[i], l.occupiedRooms);
      check(p, 'unoccupiedRooms', lean.unoccupiedRooms(level, i), l.unoccupiedRooms);
      check(p, 'alarm', lean.alarmOf(level, i), l.alarm);
      check(p, 'alarmSources', a.alarms[i], l.alarmSources);
      if (level === UNIT) {
        check(p, 'secured', lean.secured[i] === 1, l.secured);
        check(p, 'securityAlert', lean.securityAlert[i] === 1, l.securityAlert);
      }
      if (level === FLOOR) check(p, 'hvac', [null, 'cool', 'heat'][lean.hvac[i]!], l.hvac);
    });
  }
  await read(t.sites.paths, (i, l) => {
    const p = t.sites.paths[i]!;
    check(p, 'alarm', lean.siteAlarm[i] === 1, l.alarm);
    check(p, 'alarmSources', lean.siteAlarms[i], l.alarmSources);
  });
  await read(t.orgs.paths, (i, l) => {
    const p = t.orgs.paths[i]!;
    check(p, 'alarmSites', lean.orgAlarmSites[i], l.alarmSites);
    check(p, 'alarm', lean.orgAlarmSites[i]! > 0, l.alarm);
  });
  return diffs;
}

/** Counts a runtime's derived events by type from now on (`Runtime.onOutput`). */
export function countOutputs(rt: Runtime): Record<string, number> {
  const counts: Record<string, number> = {};
  rt.onOutput((e) => (counts[e.type] = (counts[e.type] ?? 0) + 1));
  return counts;
}

/** The lean loop's counts, with the types the runtime never emitted left out when zero. */
export function derivedDiffs(lean: LeanBuilding, runtime: Record<string, number>): string[] {
  const ours = lean.derivedCounts();
  const out: string[] = [];
  for (const type of new Set([...Object.keys(ours), ...Object.keys(runtime)]))
    if ((ours[type] ?? 0) !== (runtime[type] ?? 0))
      out.push(`derived ${type}: runtime ${runtime[type] ?? 0}, lean ${ours[type] ?? 0}`);
  return out;
}
