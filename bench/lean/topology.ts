/**
 * The fixed fleet of the lean yardstick (see lean-building.ts): every twin of the building
 * hierarchy as a small integer per level, its parent's index, and its rank in path order.
 * Built once from the sensor paths, outside any timing. Ranks give the order the runtime
 * applies a parent's join batch in (child path order, see JoinUpdates.canonicalize), which
 * floating-point sums depend on. Rooms are numbered in path order, so the rooms under any
 * unit, floor or building are one contiguous index range (their lists come from a scan).
 */
export interface Level {
  readonly paths: string[];
  /** Index of each twin's parent in the level above (-1 for the org). */
  readonly parent: Int32Array;
  /** Position of each twin's path in the level's sorted paths. */
  readonly rank: Int32Array;
}

export interface LeanTopology {
  readonly sensors: Level;
  readonly rooms: Level;
  readonly units: Level;
  readonly floors: Level;
  readonly buildings: Level;
  readonly sites: Level;
  readonly orgs: Level;
  /** Sensor kind: 0 climate, 1 occupancy, 2 fire, 3 gasbio, 4 other. */
  readonly kind: Uint8Array;
  /** Rooms of unit/floor/building i are rooms [range[i][0], range[i][1]) (path order). */
  readonly roomRange: { unit: Int32Array[]; floor: Int32Array[]; building: Int32Array[] };
  readonly sensorIndex: Map<string, number>;
}

export const KIND_NAMES = ['climate', 'occupancy', 'fire', 'gasbio'] as const;

/** The path two segments up (`…/room/3/sensors/fire` → `…/room/3`). */
export function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/', path.lastIndexOf('/') - 1));
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ranks(paths: readonly string[]): Int32Array {
  const order = paths.map((_, i) => i).sort((a, b) => byCodeUnits(paths[a]!, paths[b]!));
  const rank = new Int32Array(paths.length);
  order.forEach((i, r) => (rank[i] = r));
  return rank;
}

/** The level above `children` (parents in order of first appearance, or sorted when `sorted`). */
function parents(children: readonly string[], sorted: boolean): { paths: string[]; of: Int32Array } {
  const index = new Map<string, number>();
  const unique: string[] = [];
  for (const c of children) {
    const p = parentPath(c);
    if (!index.has(p)) index.set(p, unique.push(p) - 1);
  }
  const paths = sorted ? unique.sort(byCodeUnits) : unique;
  if (sorted) paths.forEach((p, i) => index.set(p, i));
  const of = new Int32Array(children.length);
  children.forEach((c, i) => (of[i] = index.get(parentPath(c))!));
  return { paths, of };
}

function level(paths: string[], parent: Int32Array): Level {
  return { paths, parent, rank: ranks(paths) };
}

/** Indexes a fleet given as sensor paths (`/org/…/room/:room/sensors/:kind`). */
export function leanTopology(sensorPaths: readonly string[]): LeanTopology {
  const sensors = [...sensorPaths];
  const r = parents(sensors, true); // rooms in path order: subtrees are index ranges
  const u = parents(r.paths, false);
  const f = parents(u.paths, false);
  const b = parents(f.paths, false);
  const s = parents(b.paths, false);
  const o = parents(s.paths, false);
  const kind = new Uint8Array(sensors.length);
  sensors.forEach((p, i) => {
    const k = KIND_NAMES.indexOf(p.slice(p.lastIndexOf('/') + 1) as (typeof KIND_NAMES)[number]);
    kind[i] = k < 0 ? 4 : k;
  });
  const range = (count: number, owner: (room: number) => number): Int32Array[] => {
    const out = Array.from({ length: count }, () => new Int32Array([0x7fffffff, 0]));
    for (let room = 0; room < r.paths.length; room++) {
      const rr = out[owner(room)]!;
      rr[0] = Math.min(rr[0]!, room);
      rr[1] = Math.max(rr[1]!, room + 1);
    }
    return out;
  };
  return {
    sensors: level(sensors, r.of),
    rooms: level(r.paths, u.of),
    units: level(u.paths, f.of),
    floors: level(f.paths, b.of),
    buildings: level(b.paths, s.of),
    sites: level(s.paths, o.of),
    orgs: level(o.paths, new Int32Array(o.paths.length).fill(-1)),
    kind,
    roomRange: {
      unit: range(u.paths.length, (room) => u.of[room]!),
      floor: range(f.paths.length, (room) => f.of[u.of[room]!]!),
      building: range(b.paths.length, (room) => b.of[f.of[u.of[room]!]!]!),
    },
    sensorIndex: new Map(sensors.map((p, i) => [p, i])),
  };
}
