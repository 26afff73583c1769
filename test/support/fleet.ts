/** A deterministic generated building fleet for tests: paths and a seeded random source. */
export interface FleetShape {
  org?: string;
  site?: string;
  buildings: number;
  floors: number;
  units: number;
  rooms: number;
}

export const SENSOR_KINDS = ['climate', 'occupancy', 'fire', 'gasbio'] as const;

export function roomPaths(shape: FleetShape): string[] {
  const out: string[] = [];
  const base = `/org/${shape.org ?? 'contoso'}/site/${shape.site ?? 'berlin'}`;
  for (let b = 0; b < shape.buildings; b++)
    for (let f = 0; f < shape.floors; f++)
      for (let u = 0; u < shape.units; u++)
        for (let r = 0; r < shape.rooms; r++) out.push(`${base}/building/b${b}/floor/${f}/unit/u${u}/room/${r}`);
  return out;
}

/** Parent path `levels` steps up (each level is two segments). */
export function up(path: string, levels: number): string {
  const segs = path.split('/');
  return segs.slice(0, segs.length - 2 * levels).join('/');
}

/** Seeded randomness (mulberry32), so a failing case can be rerun. */
export { seededRandom as seeded } from '../../models/fleet.js';
