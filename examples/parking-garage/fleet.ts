import type { FleetGenerator, TwinEvent } from '../../src/model/index.js';
import type { SpotReading } from './spot.js';

const HOUR = 3_600_000;

/** mulberry32: a tiny seeded random source, so a seed always gives the same fleet. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Share of spots taken by hour of day (UTC): busy in office hours, quiet at night. */
function busyAt(time: number): number {
  const hour = new Date(time).getUTCHours();
  return hour >= 8 && hour < 18 ? 0.97 : hour >= 6 && hour < 21 ? 0.5 : 0.1;
}

/**
 * `twinflow generate --models ./examples/parking-garage --garages 2 --levels 3 --spots 20`:
 * every spot reports once per interval at its own offset; a spot changes state now and
 * then, towards the hour's share; one spot in fifty falls silent for good (and goes stale).
 */
export const garageFleet: FleetGenerator<{ garages: number; levels: number; spots: number }> = {
  shape: { garages: 1, levels: 3, spots: 20 },
  sources: (s) => s.garages * s.levels * s.spots,
  *generate({ seed, shape, events, intervalMs = 60_000, start = Date.UTC(2026, 0, 5) }) {
    const rnd = seeded(seed);
    const spots = [];
    for (let g = 0; g < shape.garages; g++)
      for (let l = 0; l < shape.levels; l++)
        for (let s = 0; s < shape.spots; s++) {
          spots.push({
            path: `/garage/g${g}/level/${l}/spot/${s}`,
            offset: Math.floor(rnd() * intervalMs),
            occupied: false,
            silentFrom: rnd() < 0.02 ? start + rnd() * 24 * HOUR : Infinity,
          });
        }
    spots.sort((a, b) => a.offset - b.offset);
    const total = events ?? spots.length * Math.ceil((24 * HOUR) / intervalMs);
    let seq = 0;
    for (let period = start; seq < total; period += intervalMs) {
      const chunk: TwinEvent<SpotReading>[] = [];
      for (const spot of spots) {
        const time = period + spot.offset;
        if (seq >= total) break;
        if (time >= spot.silentFrom) continue;
        if (rnd() < 0.05) spot.occupied = rnd() < busyAt(time);
        chunk.push({
          id: String(++seq),
          source: `twinflow:generate/${seed}`,
          type: 'reading',
          subject: spot.path,
          time,
          data: { occupied: spot.occupied },
        });
      }
      yield chunk;
    }
  },
};
