/**
 * The equivalence check the benches run beside their timings: a fresh runtime (building
 * model, in memory, simulated clock) and a fresh lean loop take the same event lists in
 * the same steps (one `ingest` of `batch` events, settled, per step; the clock 1 s later
 * each step), then every twin is read back from the runtime and compared lane by lane,
 * bit for bit, and the derived events by type. Throws on any difference: a yardstick that
 * does less than the runtime would flatter it.
 */
import { pino } from 'pino';
import { buildingModels } from '../../models/index.js';
import { createRuntime, MemoryStateStore, SimulatedClock, type EventInput } from '../../src/index.js';
import { compareWithRuntime, countOutputs, derivedDiffs } from './compare.js';
import { LeanBuilding } from './lean-building.js';
import { leanTopology } from './topology.js';

export interface CheckResult {
  events: number;
  steps: number;
  twins: number;
  /** Derived-event counts, e.g. `evacuation 2, hvac.adjust 1`. */
  derived: string;
}

export async function checkLeanEquivalence(
  sensors: readonly string[],
  lists: readonly (readonly EventInput[])[],
  batch: number,
): Promise<CheckResult> {
  const clock = new SimulatedClock(Date.UTC(2026, 11, 1, 9, 30));
  const rt = createRuntime({
    models: buildingModels(),
    clock,
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
  });
  const counts = countOutputs(rt);
  const lean = new LeanBuilding(leanTopology(sensors));
  let events = 0;
  let steps = 0;
  for (const [n, list] of lists.entries()) {
    const renamed = list.map((e, i) => ({ ...e, id: `check${n}:${i}` }));
    for (let from = 0; from < renamed.length; from += batch) {
      const to = Math.min(renamed.length, from + batch);
      await rt.ingest(renamed.slice(from, to));
      await rt.settle();
      lean.step(renamed, from, to, clock.now());
      lean.endStep();
      clock.advance(1000);
      await rt.settle();
      lean.advanceTo(clock.now());
      events += to - from;
      steps++;
    }
  }
  const diffs = [...(await compareWithRuntime(rt, lean, true)), ...derivedDiffs(lean, counts)];
  const twins = rt.stats().activeTwins;
  await rt.close();
  if (diffs.length > 0) throw new Error(`the lean loop and the runtime differ:\n  ${diffs.join('\n  ')}`);
  const derived = Object.entries(lean.derivedCounts())
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return { events, steps, twins, derived: derived || 'none' };
}
