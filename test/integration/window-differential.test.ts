/**
 * Window lanes under the step rule (issue 14): a seeded scenario of readings (several
 * writes per turn), stops and clock advances gives the same windows, the same state
 * digest and the same derived events at 0 and 2 worker threads, in memory and on LMDB
 * with LRU passivation (time-weighted windows carry their held value through restarts).
 */
import { describe, expect, it } from 'vitest';
import type { EventInput } from '../../src/index.js';
import { runScenario, type Op, type Step, type Variant } from '../support/differential.js';
import { seeded } from '../support/fleet.js';
import { windowModels, windowModelSource } from '../support/window-models.js';

const MIN = 60_000;
const ROOMS = [0, 1, 2].flatMap((s) => [0, 1, 2, 3].map((r) => `/site/s${s}/room/r${r}`));
const VARIANTS: Variant[] = [
  { name: '0 workers' },
  { name: '2 workers', workers: 2 },
  { name: '0 workers, LRU passivation, LMDB', passivation: { maxActive: 3 }, lmdb: true },
  { name: '2 workers, LRU passivation, LMDB', workers: 2, passivation: { maxActive: 3 }, lmdb: true },
];
const MODELS = { build: windowModels, source: windowModelSource };

function scenario(seed: number, steps: number): Step[] {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Step[] = [];
  for (let s = 0; s < steps; s++) {
    // Minutes mostly; sometimes past an hour or more, so windows pass without samples.
    const advance = Math.floor((rnd() < 0.2 ? 40 + rnd() * 150 : rnd() * 12) * MIN);
    const ops: Op[] = [];
    const events: EventInput[] = [];
    for (let i = 0; i < 8; i++) {
      if (rnd() < 0.1) {
        ops.push({ k: 'stop', path: pick(ROOMS) });
        continue;
      }
      const levels = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => Math.round((rnd() * 40 - 10) * 100) / 100);
      events.push({
        subject: pick(ROOMS),
        type: 'reading',
        id: `${s}-${i}`,
        data: rnd() < 0.05 ? { occupied: 'yes', levels } : { occupied: rnd() < 0.5, levels },
      });
    }
    if (events.length > 0) ops.unshift({ k: 'ingest', events });
    out.push({ advance, ops });
  }
  return out;
}

describe('window lanes: the step rule across worker counts and passivation', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: every variant gives the windows, digest and derived events of 0 workers`, async () => {
      const steps = scenario(seed, 24);
      const base = await runScenario(steps, VARIANTS[0]!, MODELS);
      // The scenario exercises what it claims: hours reported (with and without samples), rejections, stops.
      const hours = Object.values(base.outputs)
        .flat()
        .filter((o) => o.includes(' hour '));
      expect(hours.length).toBeGreaterThan(20);
      expect(hours.some((h) => /"count":0/.test(h))).toBe(true);
      expect(hours.some((h) => /"timeAvg":0\.\d/.test(h))).toBe(true);
      expect(base.results.join('\n')).toMatch(/TWIN_PAYLOAD_REJECTED/);
      // Some room's sliding window sits at its bound of 3 samples (it dropped some early).
      // The rooms' sliding windows pass their bound of 3 samples: their drops (and the trim of
      // passivated ones' records) agree below, and the warning reaches the node from workers.
      const dropped = (o: { warnings: string[] }): boolean =>
        o.warnings.some((w) => w.startsWith('sliding window past'));
      expect(dropped(base)).toBe(true);
      for (const v of VARIANTS.slice(1)) {
        const other = await runScenario(steps, v, MODELS);
        expect(other.results, `${v.name}: acknowledgements`).toEqual(base.results);
        expect(other.outputs, `${v.name}: derived events per twin`).toEqual(base.outputs);
        expect(other.state, `${v.name}: state per twin`).toEqual(base.state);
        expect(other.digest, `${v.name}: state digest`).toBe(base.digest);
        expect(dropped(other), `${v.name}: the drops logged`).toBe(true);
      }
    }, 180_000);
  }
});
