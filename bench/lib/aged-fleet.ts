/**
 * The core path on a fleet that has run for two days, beside the same fleet fresh: what a
 * node that has been up a while pays per event. The core scenario's clock hardly moves,
 * so its climate sensors hold one hourly window each; after 48 hours they hold the 48
 * their model keeps, and whatever a sample or a write does per kept window shows here
 * and nowhere else (it did: each sample walked every kept window, 2x the cost per climate
 * reading, until window lanes kept their open windows apart).
 */
import { pino } from 'pino';
import { buildingModels } from '../../models/index.js';
import { createRuntime, MemoryStateStore, SimulatedClock, type Runtime } from '../../src/index.js';
import { randomEvents, warmEvents } from '../core.js';
import { feed } from './feed.js';
import { perSecond, type BenchContext, type Figure } from './harness.js';

const HOUR = 3_600_000;
/** What the building model's hourly temperature windows keep. */
const HOURS = 48;
const T0 = Date.UTC(2026, 0, 5);

interface Side {
  rt: Runtime;
  clock: SimulatedClock;
}

function side(): Side {
  const clock = new SimulatedClock(T0);
  const rt = createRuntime({
    models: buildingModels(),
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
    clock,
  });
  return { rt, clock };
}

export async function agedFleetFigure(ctx: BenchContext, fleet: string[]): Promise<Figure> {
  // Two buildings of the core fleet: the aging (48 h of readings and timer turns) stays short.
  const sensors = fleet.filter((s) => /\/site\/s0\/building\/b[01]\//.test(s));
  const fresh = side();
  const aged = side();
  for (let h = 0; h < HOURS; h++) {
    await feed(aged.rt, warmEvents(sensors, `h${h}:`, h));
    aged.clock.advance(HOUR); // the hour's windows close, silent sensors go offline
    await aged.rt.settle();
  }
  fresh.clock.advanceTo(aged.clock.now());
  await feed(fresh.rt, warmEvents(sensors, 'w', HOURS));
  await feed(aged.rt, warmEvents(sensors, 'w', HOURS));

  const events = randomEvents(sensors, ctx.quick ? 40_000 : 120_000, 13);
  const rates: Record<'fresh' | 'aged', number[]> = { fresh: [], aged: [] };
  // Alternating passes (after one untimed pass each), so a drifting machine shifts both sides alike.
  for (let pass = 0; pass <= ctx.runs; pass++) {
    for (const [name, s] of pass % 2 === 0
      ? ([
          ['fresh', fresh],
          ['aged', aged],
        ] as const)
      : ([
          ['aged', aged],
          ['fresh', fresh],
        ] as const)) {
      for (let i = 0; i < events.length; i++) events[i]!.id = `p${pass}:${i}`;
      const t0 = process.hrtime.bigint();
      await feed(s.rt, events);
      if (pass > 0) rates[name].push(perSecond(events.length, process.hrtime.bigint() - t0));
    }
  }
  const kept = (
    await aged.rt.read(
      sensors.find((s) => s.endsWith('/climate'))!,
      ['hourlyTemperature'],
    )
  ).lanes;
  const windows = Object.keys(kept.hourlyTemperature as object).length;
  await fresh.rt.close();
  await aged.rt.close();
  return {
    scenario: 'core',
    figure: `events/s after ${HOURS} h up (${sensors.length / 1000}k sensors, ${windows} hourly windows kept per climate sensor)`,
    unit: 'ev/s',
    ours: rates.aged,
    baseline: rates.fresh,
    baselineName: 'the same sensors fresh (1 window each), alternating passes',
    target: { ratio: 0.9, cmp: '>=' },
  };
}
