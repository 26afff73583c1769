/**
 * The core path while many wildcard links are open and viewers come and go, beside the
 * same fleet with none: what a busy dashboard deployment costs per event. A twin caches
 * which wildcard links match it; before the cache caught up with the few links opened or
 * closed since, every change of the link set made each twin match its path against every
 * link again on its next turn (a thousand links and one replaced per step cost 3x).
 */
import { pino } from 'pino';
import { buildingModels } from '../../models/index.js';
import { createRuntime, MemoryStateStore, type FilterLink, type Runtime } from '../../src/index.js';
import { fleetSensors, randomEvents, warmEvents } from '../core.js';
import { feed } from './feed.js';
import { perSecond, type BenchContext, type Figure } from './harness.js';

const LINKS = 1000;
const STEP = 5000;

async function warmFleet(sensors: string[]): Promise<Runtime> {
  const rt = createRuntime({
    models: buildingModels(),
    logger: pino({ level: 'silent' }),
    store: new MemoryStateStore(),
  });
  await feed(rt, warmEvents(sensors));
  return rt;
}

export async function wildcardChurnFigure(ctx: BenchContext): Promise<Figure> {
  const sensors = fleetSensors(true); // 20 k sensors: the cost is per twin turn, not per fleet size
  const linked = await warmFleet(sensors);
  const bare = await warmFleet(sensors);
  // Viewers of other orgs' rooms: links that match no twin here, so nothing is delivered and
  // what is measured is the matching alone.
  const viewer = (i: number): string => `/org/other${i}/site/*/building/*/floor/*/unit/*/room/*/sensors/*`;
  const links: FilterLink[] = [];
  for (let i = 0; i < LINKS; i++) links.push(linked.linkFilter(viewer(i), 'latest', () => undefined));
  let opened = LINKS;
  const events = randomEvents(sensors, ctx.quick ? 50_000 : 150_000, 17);
  const rates: Record<'linked' | 'bare', number[]> = { linked: [], bare: [] };
  for (let pass = 0; pass <= ctx.runs; pass++) {
    for (const name of pass % 2 === 0 ? (['linked', 'bare'] as const) : (['bare', 'linked'] as const)) {
      const rt = name === 'linked' ? linked : bare;
      for (let i = 0; i < events.length; i++) events[i]!.id = `p${pass}:${i}`;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < events.length; i += STEP) {
        if (name === 'linked') {
          links.shift()!.close(); // one viewer leaves, another arrives, every step
          links.push(linked.linkFilter(viewer(opened++), 'latest', () => undefined));
        }
        await feed(rt, events.slice(i, i + STEP), STEP);
      }
      if (pass > 0) rates[name].push(perSecond(events.length, process.hrtime.bigint() - t0));
    }
  }
  for (const l of links) l.close();
  await linked.close();
  await bare.close();
  return {
    scenario: 'core',
    figure: `events/s, ${LINKS} wildcard links open, one replaced per step (${sensors.length / 1000}k sensors)`,
    unit: 'ev/s',
    ours: rates.linked,
    baseline: rates.bare,
    baselineName: 'the same fleet without links, alternating passes',
    target: { ratio: 0.8, cmp: '>=' },
  };
}
