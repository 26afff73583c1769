import type { FleetGenerator, TwinEvent } from '../src/model/index.js';

/** Shape and behaviour of a synthetic building fleet. */
export interface FleetOptions {
  /** Seed of the random source: the same options give the same events, byte for byte. */
  seed: number;
  sites?: number;
  buildings?: number;
  floors?: number;
  units?: number;
  rooms?: number;
  /** Event time of the first reading (default 2026-01-05T00:00:00Z, a Monday). */
  start?: number;
  /** Every sensor reports once per interval, at its own offset (default 60 000 ms). */
  intervalMs?: number;
  /** Stop after this many events (default: one day of readings). */
  events?: number;
  /** Share of sensors that go silent at a random time and stay silent (default 0.002). */
  silentShare?: number;
  /** Chance per fire/gas sensor reading that an alarm starts (default 2e-5); it lasts 3–12 readings. */
  alarmChance?: number;
  org?: string;
}

export const SENSOR_KINDS = ['climate', 'occupancy', 'fire', 'gasbio'] as const;

/** mulberry32: tiny, fast and seeded. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Room {
  base: number;
  drift: number;
  occupied: boolean;
  people: number;
}

interface Sensor {
  subject: string;
  kind: (typeof SENSOR_KINDS)[number];
  room: Room;
  offset: number;
  silentFrom: number;
  alarmLeft: number;
}

const HOUR = 3_600_000;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Sensor paths of a fleet, in generation order (sites × buildings × floors × units × rooms × 4 kinds). */
export function fleetPaths(o: FleetOptions): string[] {
  const out: string[] = [];
  const org = o.org ?? 'sim';
  for (let s = 0; s < (o.sites ?? 2); s++)
    for (let b = 0; b < (o.buildings ?? 5); b++)
      for (let f = 0; f < (o.floors ?? 10); f++)
        for (let u = 0; u < (o.units ?? 10); u++)
          for (let r = 0; r < (o.rooms ?? 10); r++)
            for (const k of SENSOR_KINDS)
              out.push(`/org/${org}/site/s${s}/building/b${b}/floor/${f}/unit/u${u}/room/${r}/sensors/${k}`);
  return out;
}

/**
 * A seeded synthetic fleet: every sensor reports once per interval at its own offset, so
 * the stream is in time order. Occupancy follows the hour of day (busy 8–18 h UTC on
 * weekdays, mostly empty at night), room temperature drifts around its own base with a
 * day curve and people's heat, fire/gas sensors rarely raise an alarm for a few
 * readings, and a few sensors go silent for good (absence detection marks them offline).
 * Yields one chunk per interval.
 *
 * @example
 * ```ts
 * for (const chunk of generateFleet({ seed: 42, events: 1_000_000 })) writer.append(...chunk);
 * // defaults: 2 sites × 5 buildings × 10 floors × 10 units × 10 rooms × 4 = 40,000 sensors
 * ```
 */
export function* generateFleet(o: FleetOptions): Generator<TwinEvent[]> {
  const rnd = seededRandom(o.seed);
  const interval = o.intervalMs ?? 60_000;
  const start = o.start ?? Date.UTC(2026, 0, 5);
  const paths = fleetPaths(o);
  const total = o.events ?? Math.ceil(paths.length * ((24 * HOUR) / interval));
  const horizon = start + Math.ceil(total / paths.length) * interval;
  const silentShare = o.silentShare ?? 0.002;
  const alarmChance = o.alarmChance ?? 2e-5;
  const source = `twinflow:generate/${o.seed}`;
  const sensors: Sensor[] = [];
  let room: Room | null = null;
  for (let i = 0; i < paths.length; i++) {
    const kind = SENSOR_KINDS[i % 4]!;
    if (kind === 'climate') room = { base: 19 + rnd() * 4, drift: 0, occupied: false, people: 0 };
    const silent = rnd() < silentShare;
    sensors.push({
      subject: paths[i]!,
      kind,
      room: room!,
      offset: Math.floor(rnd() * interval),
      silentFrom: silent ? start + Math.floor(rnd() * (horizon - start)) : Infinity,
      alarmLeft: 0,
    });
  }
  sensors.sort((a, b) => a.offset - b.offset); // stable: ties keep path order
  let seq = 0;
  for (let period = start; seq < total; period += interval) {
    const hour = new Date(period).getUTCHours();
    const weekday = (new Date(period).getUTCDay() + 6) % 7 < 5;
    const busy = weekday && hour >= 8 && hour < 18 ? 0.7 : 0.05;
    const dayCurve = Math.sin(((hour - 9) / 24) * 2 * Math.PI) * 1.2;
    const chunk: TwinEvent[] = [];
    for (const s of sensors) {
      if (seq >= total) break;
      const time = period + s.offset;
      if (time >= s.silentFrom) continue;
      chunk.push({
        id: String(++seq),
        source,
        type: 'reading',
        subject: s.subject,
        time,
        data: reading(s, rnd, busy, dayCurve, alarmChance),
      });
    }
    yield chunk;
  }
}

function reading(s: Sensor, rnd: () => number, busy: number, dayCurve: number, alarmChance: number): unknown {
  const room = s.room;
  switch (s.kind) {
    case 'climate':
      room.drift = Math.max(-3, Math.min(3, room.drift + (rnd() - 0.5) * 0.1));
      return {
        temperature: r2(room.base + room.drift + dayCurve + room.people * 0.3),
        humidity: r2(35 + rnd() * 15),
        co2: Math.round(420 + room.people * 180 + rnd() * 40),
      };
    case 'occupancy':
      // Sticky: a room changes state with a small chance per reading, towards the hour's share.
      if (rnd() < 0.1) room.occupied = rnd() < busy;
      room.people = room.occupied ? 1 + Math.floor(rnd() * 4) : 0;
      return { occupied: room.occupied, count: room.people };
    default: {
      if (s.alarmLeft > 0) s.alarmLeft--;
      else if (rnd() < alarmChance) s.alarmLeft = 3 + Math.floor(rnd() * 10);
      const alarm = s.alarmLeft > 0;
      return s.kind === 'fire'
        ? { alarm, smoke: r2(alarm ? 0.5 + rnd() * 0.5 : rnd() * 0.05) }
        : { alarm, level: r2(alarm ? 0.6 + rnd() * 0.4 : rnd() * 0.1) };
    }
  }
}

/** The fleet shape flags of `twinflow generate` for the building set, with their defaults. */
export interface BuildingFleetShape {
  sites: number;
  buildings: number;
  floors: number;
  units: number;
  rooms: number;
}

/**
 * The building set's generator for `twinflow generate`: {@link generateFleet} with the
 * shape as flags (`--sites 1 --floors 2`).
 */
export const buildingFleet: FleetGenerator<BuildingFleetShape> = {
  shape: { sites: 2, buildings: 5, floors: 10, units: 10, rooms: 10 },
  sources: (s) => s.sites * s.buildings * s.floors * s.units * s.rooms * SENSOR_KINDS.length,
  generate: (run) =>
    generateFleet({ ...run.shape, seed: run.seed, events: run.events, intervalMs: run.intervalMs, start: run.start }),
};
