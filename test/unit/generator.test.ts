import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TwinEvent } from '../../src/index.js';
import { fleetPaths, generateFleet, type FleetOptions } from '../../models/fleet.js';
import { main } from '../../src/cli/cli.js';
import { tempDir } from '../support/tmp.js';

const SMALL: FleetOptions = { seed: 11, sites: 1, buildings: 2, floors: 2, units: 2, rooms: 5 }; // 160 sensors

function all(o: FleetOptions): TwinEvent[] {
  return [...generateFleet(o)].flat();
}

describe('fleet generator', () => {
  it('is seeded: same options give the same events, another seed other events', () => {
    const a = all({ ...SMALL, events: 5000 });
    expect(a).toHaveLength(5000);
    expect(all({ ...SMALL, events: 5000 })).toEqual(a);
    expect(all({ ...SMALL, seed: 12, events: 5000 })).not.toEqual(a);
    expect(fleetPaths(SMALL)).toHaveLength(160);
    expect(fleetPaths({ seed: 1 })).toHaveLength(40_000); // the default fleet
  });

  it('emits in time order, with day/night occupancy, alarms and sensors going silent', () => {
    const day = all({ ...SMALL, intervalMs: 300_000, silentShare: 0.05, alarmChance: 0.01 }); // one day, every 5 minutes
    for (let i = 1; i < day.length; i++) expect(day[i]!.time).toBeGreaterThanOrEqual(day[i - 1]!.time);
    const occupiedShare = (hour: number): number => {
      const rows = day.filter((e) => e.subject.endsWith('occupancy') && new Date(e.time).getUTCHours() === hour);
      return rows.filter((e) => (e.data as { occupied: boolean }).occupied).length / rows.length;
    };
    expect(occupiedShare(15)).toBeGreaterThan(0.4);
    expect(occupiedShare(3)).toBeLessThan(0.15);
    expect(day.some((e) => (e.data as { alarm?: boolean }).alarm === true)).toBe(true);
    const lastSeen = new Map<string, number>();
    for (const e of day) lastSeen.set(e.subject, e.time);
    const end = day[day.length - 1]!.time;
    expect([...lastSeen.values()].filter((t) => end - t > 3_600_000).length).toBeGreaterThan(0); // silent sensors
    const temps = day
      .filter((e) => e.subject.endsWith('climate'))
      .map((e) => (e.data as { temperature: number }).temperature);
    expect(Math.min(...temps)).toBeGreaterThan(10);
    expect(Math.max(...temps)).toBeLessThan(32);
  });

  it('`twinflow generate` writes byte-identical recordings for the same seed', async () => {
    const dir = tempDir();
    const args = (out: string): string[] => [
      'generate',
      '--seed',
      '5',
      '--sites',
      '1',
      '--buildings',
      '1',
      '--floors',
      '2',
      '--units',
      '2',
      '--rooms',
      '3',
      '--events',
      '3000',
      '--out',
      out,
    ];
    expect(await main(args(join(dir, 'a.tfr')))).toBe(0);
    expect(await main(args(join(dir, 'b.tfr')))).toBe(0);
    expect(readFileSync(join(dir, 'a.tfr')).equals(readFileSync(join(dir, 'b.tfr')))).toBe(true);
    expect(await main(['generate', '--out', join(dir, 'c.tfr')])).toBe(2); // --seed is required
  });
});
