/**
 * The core path under one parent of many children, beside the same children under many
 * small parents: what a wide twin (a fleet, a campus-wide summary) costs per event. The
 * building model's widest join has a few dozen children, so a cost per child of a parent's
 * join turn shows here and nowhere else (it did: finding each turn-log entry's repeats
 * scanned the entries before it, and a parent of 20 000 children ran at a tenth of the rate).
 */
import { pino } from 'pino';
import {
  createRuntime,
  defineTwin,
  join,
  map,
  MemoryStateStore,
  value,
  type EventInput,
  type Runtime,
} from '../../src/index.js';
import { seededRandom } from '../../models/fleet.js';
import { feed } from './feed.js';
import { perSecond, type BenchContext, type Figure } from './harness.js';

/** A parent keeping the sum of its children's values and each child's last value. */
const hub = defineTwin({
  name: 'hub',
  route: '/fleet/:hub',
  lanes: { devices: join<number>({ from: 'device', lane: 'level' }), total: value(0), last: map<number>() },
  onJoin: {
    devices: {
      update(ctx, device, next, old) {
        ctx.lanes.total.set(ctx.lanes.total.get() + next - (old ?? 0));
        ctx.lanes.last.update(device, next);
      },
    },
  },
});

const device = defineTwin({
  name: 'device',
  route: '/fleet/:hub/device/:device',
  lanes: { level: value(0) },
  on: { level: (ctx, e) => ctx.lanes.level.set(e.data as number) },
});

function fleet(children: number, parents: number): { rt: Runtime; paths: string[] } {
  const rt = createRuntime({ models: [hub, device], logger: pino({ level: 'silent' }), store: new MemoryStateStore() });
  const paths = Array.from({ length: children }, (_, i) => `/fleet/h${i % parents}/device/d${i}`);
  return { rt, paths };
}

function levels(paths: string[], count: number, seed: number): EventInput[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    subject: paths[Math.floor(rnd() * paths.length)]!,
    type: 'level',
    source: 'bench',
    data: Math.floor(rnd() * 100),
  }));
}

export async function wideParentFigure(ctx: BenchContext): Promise<Figure> {
  const children = ctx.quick ? 5_000 : 20_000;
  const narrowParents = children / 20;
  const wide = fleet(children, 1);
  const narrow = fleet(children, narrowParents);
  for (const f of [wide, narrow])
    await feed(
      f.rt,
      f.paths.map((subject, i) => ({ subject, type: 'level', id: `w${i}`, data: 1 })),
    );
  const count = ctx.quick ? 50_000 : 200_000;
  const rates: Record<'wide' | 'narrow', number[]> = { wide: [], narrow: [] };
  // Alternating passes (after one untimed pass each); the same children get the same readings on both sides.
  for (let pass = 0; pass <= ctx.runs; pass++) {
    const sides = pass % 2 === 0 ? (['wide', 'narrow'] as const) : (['narrow', 'wide'] as const);
    for (const name of sides) {
      const f = name === 'wide' ? wide : narrow;
      const events = levels(f.paths, count, pass + 1);
      for (let i = 0; i < events.length; i++) events[i]!.id = `p${pass}:${i}`;
      const t0 = process.hrtime.bigint();
      await feed(f.rt, events);
      if (pass > 0) rates[name].push(perSecond(events.length, process.hrtime.bigint() - t0));
    }
  }
  await wide.rt.close();
  await narrow.rt.close();
  return {
    scenario: 'core',
    figure: `events/s, one parent joining ${children / 1000}k children`,
    unit: 'ev/s',
    ours: rates.wide,
    baseline: rates.narrow,
    baselineName: `the same children under ${narrowParents} parents of 20, alternating passes`,
    target: { ratio: 0.5, cmp: '>=' },
  };
}
