/**
 * A twin's timers and dedupe window through the model API, against a plain model (a map of
 * due times, a list of accepted event ids): random sets (earlier or later than the armed
 * deadline), cancels, clock advances, releases (stop + restore) and restarts on the same
 * LMDB directory with another dedupe window size. Timer times are number fields with NaN
 * for "none" (twin-timers.ts): `ctx.timers.due` must still answer undefined, and no stored
 * record may carry a NaN; the window (dedupe.ts) shifts in place and is restored from
 * records written at another size.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineTwin, value, type Runtime, type SimulatedClock } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { advance, simulatedRuntime, T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const NAMES = ['a', 'b'] as const;

const probe = defineTwin({
  name: 'probe',
  route: '/probe/:id',
  lanes: { fired: value<string[]>([]), dues: value<(number | string | null)[]>([]), count: value(0) },
  on: {
    set(ctx, e) {
      const d = e.data as { name: string; delay: number };
      ctx.timers.set(d.name, d.delay);
    },
    cancel(ctx, e) {
      ctx.timers.cancel(String(e.data));
    },
    inc(ctx) {
      ctx.lanes.count.set(ctx.lanes.count.get() + 1);
    },
    ask(ctx) {
      // What model code sees: a time, or undefined (never NaN).
      const seen = NAMES.map((n) => ctx.timers.due(n));
      ctx.lanes.dues.set(seen.map((v) => (v === undefined ? null : Number.isNaN(v) ? 'NaN' : v - T0)));
    },
  },
  onTimer: {
    a(ctx) {
      ctx.lanes.fired.set([...ctx.lanes.fired.get(), `a@${ctx.now() - T0}`]);
    },
    b(ctx) {
      ctx.lanes.fired.set([...ctx.lanes.fired.get(), `b@${ctx.now() - T0}`]);
    },
  },
});

type Op =
  | { k: 'set'; name: string; delay: number }
  | { k: 'cancel'; name: string }
  | { k: 'advance'; ms: number }
  | { k: 'release' }
  | { k: 'restart'; window: number }
  | { k: 'inc' }
  | { k: 'redeliver'; back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('set' as const),
    name: fc.constantFrom(...NAMES),
    delay: fc.integer({ min: 0, max: 40 }).map((s) => s * 1000 + 1),
  }),
  fc.record({ k: fc.constant('cancel' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }).map((s) => s * 1000) }),
  fc.constant({ k: 'release' as const }),
  fc.record({ k: fc.constant('restart' as const), window: fc.integer({ min: 1, max: 6 }) }),
  fc.constant({ k: 'inc' as const }),
  fc.record({ k: fc.constant('redeliver' as const), back: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ k: fc.constant('redeliver' as const), back: fc.integer({ min: 0, max: 8 }) }),
  fc.constant({ k: 'inc' as const }),
);

/** True when a stored value holds a NaN anywhere. */
function hasNaN(v: unknown): boolean {
  if (typeof v === 'number') return Number.isNaN(v);
  if (v && typeof v === 'object') return Object.values(v).some(hasNaN);
  return false;
}

describe('timers and dedupe window against a plain model', () => {
  it('fire when due, answer due() with a time or undefined, and drop redeliveries, across stops and restarts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40, size: 'max' }), async (ops) => {
        const dir = tempDir();
        const path = `/probe/${run++}`;
        let window = 8; // the runtime's default
        let now = 0;
        let store = LmdbStateStore.open({ path: dir });
        const open = (): { rt: Runtime; clock: SimulatedClock } =>
          simulatedRuntime({ models: [probe], store, start: T0 + now, dedupeWindow: window });
        let { rt, clock } = open();
        // The model.
        const due = new Map<string, number>();
        const fired: string[] = [];
        const incs: string[] = [];
        let recent: string[] = [];
        let count = 0;
        let seq = 0;
        /** Ingests an event; true when the model says the twin takes it (not in the window). */
        const send = async (type: string, data: unknown, id = `e${seq++}`): Promise<boolean> => {
          await rt.ingest([{ subject: path, type, id, data }]);
          if (recent.includes(id)) return false;
          recent = [...recent, id].slice(-window);
          return true;
        };
        for (const o of ops) {
          switch (o.k) {
            case 'set':
              await send('set', { name: o.name, delay: o.delay });
              due.set(o.name, now + o.delay);
              break;
            case 'cancel':
              await send('cancel', o.name);
              due.delete(o.name);
              break;
            case 'inc': {
              const id = `e${seq++}`;
              incs.push(id);
              if (await send('inc', null, id)) count++;
              break;
            }
            case 'redeliver': {
              const id = incs[incs.length - 1 - o.back];
              if (id !== undefined && (await send('inc', null, id))) count++;
              break;
            }
            case 'advance': {
              await advance(rt, clock, o.ms);
              now += o.ms;
              for (const [name, t] of [...due]) {
                if (t > now) continue;
                fired.push(`${name}@${t}`);
                due.delete(name);
              }
              break;
            }
            case 'release':
              await rt.read(path, ['fired'], { release: true });
              break;
            case 'restart':
              await rt.close();
              await store.close();
              window = o.window;
              recent = recent.slice(-window);
              store = LmdbStateStore.open({ path: dir });
              ({ rt, clock } = open());
              break;
          }
          await send('ask', null);
          expect(await rt.get(path, 'dues')).toEqual(NAMES.map((n) => due.get(n) ?? null));
          expect([...((await rt.get(path, 'fired')) as string[])].sort()).toEqual([...fired].sort());
          expect(await rt.get(path, 'count')).toBe(count);
          await rt.settle();
          const stored = store.load(path); // (LMDB reads synchronously)
          expect(stored?.values).toBeDefined(); // every twin here has a record (its dedupe window)
          expect(hasNaN(stored?.values)).toBe(false);
        }
        await rt.close();
        await store.close();
      }),
      { numRuns: 80 },
    );
  }, 120_000);
});
