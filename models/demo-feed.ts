import type { TwinEvent } from '../src/model/index.js';
import { SENSOR_KINDS, seededRandom } from './fleet.js';

/** Shape of the demo's fleet and how often something happens in it. */
export interface DemoFeedOptions {
  /** Seed of the random source (default 1). */
  seed?: number;
  org?: string;
  sites?: number;
  buildings?: number;
  floors?: number;
  units?: number;
  rooms?: number;
  /** A new episode (fire, occupancy, heat, gas, silent sensor) starts every this many rounds (default 8). */
  episodeEvery?: number;
}

/**
 * The units the demo keeps secured (the last unit of every floor): send them `secure: true`
 * before the feed starts, and its occupancy episodes (which happen there) raise `security.alert`.
 */
export function demoSecuredUnits(o: DemoFeedOptions = {}): string[] {
  const out: string[] = [];
  const org = o.org ?? 'demo';
  for (let s = 0; s < (o.sites ?? 1); s++)
    for (let b = 0; b < (o.buildings ?? 2); b++)
      for (let f = 0; f < (o.floors ?? 4); f++)
        out.push(`/org/${org}/site/s${s}/building/b${b}/floor/${f}/unit/u${(o.units ?? 4) - 1}`);
  return out;
}

/** What the demo makes happen, in turn, so every reaction of the building model shows. */
export const DEMO_EPISODES = ['fire', 'occupancy', 'heat', 'gas', 'silent'] as const;
export type DemoEpisode = (typeof DEMO_EPISODES)[number];

interface Room {
  path: string;
  unit: string;
  /** In a unit the demo keeps secured: empty except during an occupancy episode. */
  secured: boolean;
  floor: string;
  base: number;
  drift: number;
  occupied: boolean;
  people: number;
}

interface Episode {
  kind: DemoEpisode;
  /** The sensor (fire, gas, silent), unit (occupancy) or floor (heat) it affects. */
  target: string;
  roundsLeft: number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * An endless live feed for `twinflow serve --demo`: every sensor of a small building fleet
 * reports once per round (one chunk per round; the publisher sets the pace), and every
 * `episodeEvery` rounds an episode starts, in turn: a fire alarm in a room (its site
 * evacuates), a secured unit (see {@link demoSecuredUnits}) filling with people (a security alert), a floor
 * heating up (hvac.adjust), a gas alarm, a sensor going silent (sensor.offline once the
 * model's `offlineAfter` passes). Each lasts a few rounds, then clears. The first starts in
 * round 2, so a new dashboard sees a reaction within seconds.
 *
 * @example
 * ```ts
 * await publishEvents(node.ingestion.mqtt!.url, demoFeed({ seed: 7 }), { rate: 300, signal });
 * ```
 */
export function* demoFeed(o: DemoFeedOptions = {}): Generator<TwinEvent[]> {
  const rnd = seededRandom(o.seed ?? 1);
  const org = o.org ?? 'demo';
  const every = o.episodeEvery ?? 8;
  const rooms: Room[] = [];
  for (let s = 0; s < (o.sites ?? 1); s++)
    for (let b = 0; b < (o.buildings ?? 2); b++)
      for (let f = 0; f < (o.floors ?? 4); f++)
        for (let u = 0; u < (o.units ?? 4); u++)
          for (let r = 0; r < (o.rooms ?? 3); r++) {
            const floor = `/org/${org}/site/s${s}/building/b${b}/floor/${f}`;
            const unit = `${floor}/unit/u${u}`;
            const secured = u === (o.units ?? 4) - 1;
            const occupied = !secured && rnd() < 0.3;
            rooms.push({
              path: `${unit}/room/${r}`,
              unit,
              secured,
              floor,
              base: 19 + rnd() * 3,
              drift: 0,
              occupied,
              people: 0,
            });
          }
  const episodes: Episode[] = [];
  let seq = 0;
  for (let round = 0; ; round++) {
    if (round % every === 2) episodes.push(startEpisode(DEMO_EPISODES[Math.floor(round / every) % 5]!, rooms, rnd));
    for (const e of episodes) e.roundsLeft--;
    const active = episodes.filter((e) => e.roundsLeft >= 0);
    episodes.length = 0;
    episodes.push(...active);
    const chunk: TwinEvent[] = [];
    const now = Date.now();
    for (const room of rooms) {
      for (const kind of SENSOR_KINDS) {
        const subject = `${room.path}/sensors/${kind}`;
        if (active.some((e) => e.kind === 'silent' && e.target === subject)) continue;
        chunk.push({
          id: String(++seq),
          source: 'twinflow:demo',
          type: 'reading',
          subject,
          time: now,
          data: reading(kind, room, subject, active, rnd),
        });
      }
    }
    yield chunk;
  }
}

function startEpisode(kind: DemoEpisode, rooms: readonly Room[], rnd: () => number): Episode {
  // People turn up in a secured unit, so the security alert shows.
  const pool = kind === 'occupancy' ? rooms.filter((r) => r.secured) : rooms;
  const room = pool[Math.floor(rnd() * pool.length)]!;
  const target =
    kind === 'occupancy'
      ? room.unit
      : kind === 'heat'
        ? room.floor
        : `${room.path}/sensors/${kind === 'fire' ? 'fire' : kind === 'gas' ? 'gasbio' : 'climate'}`;
  // A silent sensor stays silent long enough for the model's offlineAfter to notice.
  const rounds = kind === 'silent' ? 40 : kind === 'heat' ? 24 : 6 + Math.floor(rnd() * 6);
  return { kind, target, roundsLeft: rounds };
}

function reading(
  kind: (typeof SENSOR_KINDS)[number],
  room: Room,
  subject: string,
  active: readonly Episode[],
  rnd: () => number,
): unknown {
  switch (kind) {
    case 'climate': {
      room.drift = Math.max(-1.5, Math.min(1.5, room.drift + (rnd() - 0.5) * 0.2));
      const heat = active.some((e) => e.kind === 'heat' && e.target === room.floor) ? 6 : 0;
      return {
        temperature: r2(room.base + room.drift + room.people * 0.3 + heat),
        humidity: r2(35 + rnd() * 15),
        co2: Math.round(420 + room.people * 180 + rnd() * 40),
      };
    }
    case 'occupancy': {
      const crowd = active.some((e) => e.kind === 'occupancy' && e.target === room.unit);
      if (crowd) room.occupied = true;
      else if (room.secured) room.occupied = false;
      else if (rnd() < 0.05) room.occupied = rnd() < 0.35;
      room.people = room.occupied ? 1 + Math.floor(rnd() * 4) : 0;
      return { occupied: room.occupied, count: room.people };
    }
    case 'fire': {
      const alarm = active.some((e) => e.kind === 'fire' && e.target === subject);
      return { alarm, smoke: r2(alarm ? 0.5 + rnd() * 0.5 : rnd() * 0.05) };
    }
    default: {
      const alarm = active.some((e) => e.kind === 'gas' && e.target === subject);
      return { alarm, level: r2(alarm ? 0.6 + rnd() * 0.4 : rnd() * 0.1) };
    }
  }
}
