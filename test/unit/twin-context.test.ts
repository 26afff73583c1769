import { describe, expect, it } from 'vitest';
import { command, defineTwin, demand, join, map, value, window, type TwinContext } from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

/**
 * Issue 14: a model's hooks get a `ctx` facade, not the engine's twin. A cast in model
 * code (`(ctx as any).collectWrites(...)`) must find nothing of the engine.
 */

/** Exactly the TwinContext surface (plus the class's `constructor`). */
const API = ['command', 'emit', 'lanes', 'log', 'model', 'now', 'params', 'path', 'reject', 'timers'];

/** Engine members of the twin behind a ctx: none may be reachable from it. */
const INTERNALS = [
  'collectWrites',
  'restore',
  'runEvent',
  'runCommand',
  'runTimer',
  'settleHooks',
  'abortTurn',
  'remember',
  'isDuplicate',
  'markAnnounced',
  'laneChanged',
  'snapshot',
  'setTimer',
  'cancelTimer',
  'noteChange',
  'afterWrite',
  'afterEntry',
  'definition',
  'env',
  'twin',
  'bits',
  'state',
  'dirty',
  'parent',
  'ctx',
];

/** Every property name of `obj` and its prototypes, up to (not including) Object.prototype. */
function reachableNames(obj: object): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = obj;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const key of Reflect.ownKeys(o)) names.add(String(key));
  }
  return [...names].sort();
}

/** Each hook records the ctx it got, by hook. */
const seen: Array<[string, TwinContext]> = [];
const note = (hook: string, ctx: TwinContext): void => void seen.push([hook, ctx]);

const child = defineTwin({
  name: 'probe-child',
  route: '/p/:id/child/:c',
  lanes: { level: value(0) },
  on: {
    level(ctx, e) {
      ctx.lanes.level.set(e.data as number);
    },
  },
});

const probe = defineTwin({
  name: 'probe',
  route: '/p/:id',
  lanes: {
    n: value(0),
    notes: map<number>(),
    poke: command<number>(),
    children: join<number>({ from: 'probe-child', lane: 'level' }),
    summary: demand<number>(),
    perMinute: window({ source: 'n', kind: 'tumbling', size: 60_000 }),
  },
  onStart(ctx) {
    note('onStart', ctx);
  },
  on: {
    bump(ctx) {
      note('on', ctx);
      ctx.lanes.n.set(ctx.lanes.n.get() + 1);
      ctx.lanes.notes.update('k', 1);
      ctx.timers.set('tick', 1000);
    },
  },
  onSet: {
    n(ctx) {
      note('onSet', ctx);
    },
  },
  onEntry: {
    notes(ctx) {
      note('onEntry', ctx);
    },
  },
  onCommand: {
    poke(ctx) {
      note('onCommand', ctx);
    },
  },
  onJoin: {
    children: {
      update(ctx) {
        note('onJoin', ctx);
      },
    },
  },
  onDemand: {
    summary(ctx) {
      note('onDemand', ctx);
      return ctx.lanes.n.get();
    },
  },
  onWindow: {
    perMinute(ctx) {
      note('onWindow', ctx);
    },
  },
  onTimer: {
    tick(ctx) {
      note('onTimer', ctx);
    },
  },
  onStop(ctx) {
    note('onStop', ctx);
  },
});

describe('the ctx a model gets (issue 14)', () => {
  it('is one facade per twin, the same object in every hook, exposing only the TwinContext API', async () => {
    seen.length = 0;
    const { rt, clock } = simulatedRuntime({ models: [probe, child] });
    await rt.ingest({ subject: '/p/1', type: 'bump' });
    await rt.command('/p/1', 'poke', 7);
    await rt.ingest({ subject: '/p/1/child/a', type: 'level', data: 3 });
    await rt.settle();
    expect(await rt.get('/p/1', 'summary')).toBe(1);
    clock.advance(120_000); // the timer fires and the minute's window closes
    await rt.settle();
    await rt.stop('/p/1');
    await rt.settle();

    const hooks = new Set(seen.map(([hook]) => hook));
    expect([...hooks].sort()).toEqual([
      'on',
      'onCommand',
      'onDemand',
      'onEntry',
      'onJoin',
      'onSet',
      'onStart',
      'onStop',
      'onTimer',
      'onWindow',
    ]);
    // Created once per twin, not per turn or per hook.
    const ctx = seen[0]![1];
    for (const [hook, c] of seen) expect(c, hook).toBe(ctx);

    expect(Object.keys(ctx)).toEqual([]);
    expect(reachableNames(ctx)).toEqual(['constructor', ...API].sort());
    const loose = ctx as unknown as Record<string, unknown>;
    for (const name of INTERNALS) expect(loose[name], name).toBeUndefined();
    // The shared timer handle hides which twin it acts on.
    expect(reachableNames(ctx.timers)).toEqual(['cancel', 'due', 'set', 'setAt']);
    expect(Object.isFrozen(ctx.timers)).toBe(true);
    // And the API still answers for its twin.
    expect([ctx.path, ctx.model, ctx.params]).toEqual(['/p/1', 'probe', { id: '1' }]);
  });

  it("a model that casts ctx to reach the engine fails its turn, and the twin's state is untouched", async () => {
    const sneaky = defineTwin({
      name: 'sneaky',
      route: '/s/:id',
      lanes: { n: value(0) },
      on: {
        set(ctx) {
          ctx.lanes.n.set(5);
        },
        hack(ctx) {
          ctx.lanes.n.set(99);
          (ctx as unknown as { collectWrites(out: unknown[]): void }).collectWrites([]);
        },
      },
    });
    const { rt } = simulatedRuntime({ models: [sneaky] });
    await rt.ingest({ subject: '/s/1', type: 'set' });
    const report = await rt.ingest({ subject: '/s/1', type: 'hack' });
    expect(report.rejected.map((r) => r.error.code)).toEqual(['TWIN_TURN_FAILED']);
    expect(await rt.get('/s/1', 'n')).toBe(5);
  });

  it("refuses timer names the engine keeps for itself or a record cannot hold, and keeps the window's timer", async () => {
    // `$w:<lane>` is a window lane's close timer: a model that armed or cancelled one silently
    // stopped its window closing (or had its own onTimer never run); `__proto__` was lost when
    // the timers were written into the record's plain object.
    const fired: string[] = [];
    const closed: number[] = [];
    const timed = defineTwin({
      name: 'timed',
      route: '/t/:id',
      lanes: { v: value(0), hourly: window({ source: 'v', kind: 'tumbling', size: 3_600_000, keep: 4 }) },
      on: {
        arm(ctx, e) {
          ctx.lanes.v.set(ctx.lanes.v.get() + 1);
          ctx.timers.set(String((e.data as { name: string }).name), 1000);
        },
        cancel(ctx, e) {
          ctx.timers.cancel(String((e.data as { name: string }).name));
        },
      },
      onTimer: {
        ok: () => void fired.push('ok'),
      },
      onWindow: { hourly: (_ctx, w) => void closed.push(w.count) },
    });
    const { rt, clock } = simulatedRuntime({ models: [timed] });
    const codes = async (type: string, name: string): Promise<string[]> =>
      (await rt.ingest({ subject: '/t/1', type, data: { name } })).rejected.map((r) => r.error.code);
    expect(await codes('arm', 'ok')).toEqual([]);
    for (const name of ['$w:hourly', '$anything', '__proto__', ''])
      expect(await codes('arm', name), name).toEqual(['TWIN_TURN_FAILED']);
    expect(await codes('cancel', '$w:hourly')).toEqual(['TWIN_TURN_FAILED']);
    clock.advance(2 * 3_600_000);
    await rt.settle();
    expect(fired).toEqual(['ok']);
    expect(closed).toEqual([1]); // the window closed: its timer was not touched
    await rt.close();
  });
});
