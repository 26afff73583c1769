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

/** mulberry32: small, fast and seeded, so a failing case can be rerun. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
