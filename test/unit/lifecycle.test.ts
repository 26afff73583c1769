import { describe, expect, it } from 'vitest';
import { defineTwin, map, MemoryStateStore, value, type LaneEvent } from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

const log: string[] = [];

const counter = defineTwin({
  name: 'counter',
  route: '/c/:id',
  lanes: { n: value(0), seen: map<number>() },
  on: {
    inc(ctx, e) {
      ctx.lanes.n.set(ctx.lanes.n.get() + 1);
      ctx.lanes.seen.update(e.id, ctx.lanes.n.get());
    },
    // Changes two lanes, then throws: the whole turn must roll back.
    explode(ctx, e) {
      ctx.lanes.n.set(1000);
      ctx.lanes.seen.update(e.id, -1);
      ctx.emit('should.not.leave');
      throw new Error('boom');
    },
  },
  onStart(ctx) {
    log.push(`start ${ctx.path} n=${ctx.lanes.n.get()}`);
  },
  onStop(ctx) {
    log.push(`stop ${ctx.path} n=${ctx.lanes.n.get()}`);
  },
});

describe('twin lifecycle', () => {
  it('starts a twin on its first event, link or read, and only then', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    expect(rt.activePaths()).toEqual([]);
    await rt.ingest({ subject: '/c/1', type: 'inc' });
    await rt.link('/c/2', 'n').synced;
    expect((await rt.read('/c/3')).lanes.n).toBe(0); // started for the read: its initial state
    await rt.settle();
    // A twin that was only read and has no state does not stay live (any routed path can
    // be read); a linked one stays while it is linked.
    expect(rt.activePaths().sort()).toEqual(['/c/1', '/c/2']);
  });

  it('a twin that was only read leaves nothing in the store, even when its onStart changed a lane', async () => {
    const gadget = defineTwin({
      name: 'gadget',
      route: '/g/:id',
      lanes: { boots: value(0) },
      onStart: (ctx) => ctx.lanes.boots.set(ctx.lanes.boots.get() + 1),
      on: { ping: () => undefined },
    });
    const store = new MemoryStateStore();
    const { rt } = simulatedRuntime({ models: [gadget], store });
    expect((await rt.read('/g/ghost')).lanes.boots).toBe(1);
    await rt.settle();
    expect([...store.list('')]).toEqual([]);
    expect(await rt.listTwins('/g/**')).toEqual([]);
    // A twin with input is real: its state, onStart's change included, is stored.
    await rt.ingest({ subject: '/g/real', type: 'ping' });
    await rt.settle();
    expect([...store.list('')]).toEqual(['/g/real']);
    expect((await store.load('/g/real'))?.values.boots).toBe(1);
  });

  it('buffers work that arrives while its state loads, and runs it in order', async () => {
    const store = new MemoryStateStore().withLoadDelay(20);
    const { rt } = simulatedRuntime({ models: [counter], store });
    const report = await rt.ingest(
      Array.from({ length: 50 }, (_, i) => ({ subject: '/c/slow', type: 'inc', id: `e${i}` })),
    );
    expect(report.accepted).toBe(50);
    const seen = (await rt.get('/c/slow', 'seen')) as Record<string, number>;
    expect(Object.keys(seen)).toHaveLength(50);
    expect(Array.from({ length: 50 }, (_, i) => seen[`e${i}`])).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('runs one turn at a time per twin: concurrent callers never interleave', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    await Promise.all(Array.from({ length: 20 }, (_, i) => rt.ingest({ subject: '/c/x', type: 'inc', id: `p${i}` })));
    const seen = Object.values((await rt.get('/c/x', 'seen')) as Record<string, number>).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('stops a twin (onStop, state persisted, memory freed) and restores it on demand', async () => {
    log.length = 0;
    const store = new MemoryStateStore();
    const { rt } = simulatedRuntime({ models: [counter], store });
    await rt.ingest([
      { subject: '/c/s', type: 'inc' },
      { subject: '/c/s', type: 'inc' },
    ]);
    await rt.stop('/c/s');
    expect(rt.activePaths()).toEqual([]);
    expect(await rt.get('/c/s', 'n')).toBe(2);
    expect(log).toEqual(['start /c/s n=0', 'stop /c/s n=2', 'start /c/s n=2']);
  });

  it('rolls a failed turn back completely and reports it, without touching other work', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    const outputs: string[] = [];
    const errors: string[] = [];
    rt.onOutput((e) => outputs.push(e.type));
    rt.onTurnError((e, path) => errors.push(`${path}: ${e.code} ${e.message}`));
    const events: LaneEvent[] = [];
    await rt.link('/c/f', 'n', (e) => events.push(e)).synced;
    const report = await rt.ingest([
      { subject: '/c/f', type: 'inc', id: 'a' },
      { subject: '/c/f', type: 'explode', id: 'b' },
      { subject: '/c/g', type: 'inc', id: 'c' },
      { subject: '/c/f', type: 'inc', id: 'd' },
    ]);
    expect(report.accepted).toBe(3);
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]!.index).toBe(1);
    expect(report.rejected[0]!.error.code).toBe('TWIN_TURN_FAILED');
    expect(await rt.read('/c/f')).toMatchObject({ lanes: { n: 2, seen: { a: 1, d: 2 } } });
    expect(await rt.get('/c/g', 'n')).toBe(1);
    expect(outputs).toEqual([]);
    expect(errors).toEqual(['/c/f: TWIN_TURN_FAILED boom']);
    // Observers never saw the rolled-back 1000.
    expect(events.map((e) => (e as { value: number }).value)).toEqual([0, 1, 2]);
  });

  it('rejects events for unknown event types and unrouted or malformed paths, per event', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    const report = await rt.ingest([
      { subject: '/c/1', type: 'inc' },
      { subject: '/c/1', type: 'mystery' },
      { subject: '/nowhere', type: 'inc' },
      { subject: '/c//1', type: 'inc' },
      { subject: 42 as unknown as string },
      { subject: '/c/1', type: 'inc', time: 'yesterday' },
    ]);
    expect(report.accepted).toBe(1);
    expect(report.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [1, 'TWIN_EVENT_UNHANDLED'],
      [2, 'TWIN_NO_ROUTE'],
      [3, 'TWIN_PATH_INVALID'],
      [4, 'TWIN_EVENT_INVALID'],
      [5, 'TWIN_EVENT_INVALID'],
    ]);
    expect(await rt.get('/c/1', 'n')).toBe(1);
  });

  it('acknowledges only after the store committed the effects', async () => {
    const store = new MemoryStateStore();
    const { rt } = simulatedRuntime({ models: [counter], store });
    await rt.ingest({ subject: '/c/d', type: 'inc' });
    const committed = await store.load('/c/d');
    expect(committed?.values.n).toBe(1);
  });
});

describe('links', () => {
  it('iterate sync then live events, and unlink on break', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    const link = rt.link('/c/l', 'n');
    const seen: unknown[] = [];
    const reader = (async () => {
      for await (const e of link) {
        seen.push((e as { value: unknown }).value);
        if (seen.length === 3) break;
      }
    })();
    await link.synced;
    await rt.ingest({ subject: '/c/l', type: 'inc' });
    await new Promise((r) => setImmediate(r));
    await rt.ingest({ subject: '/c/l', type: 'inc' });
    await reader;
    expect(seen).toEqual([0, 1, 2]);
    expect(rt.stats().observers).toBe(0);
  });

  it('conflate for a consumer that does not keep up: latest value, bounded memory', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    const link = rt.link('/c/slow', 'n');
    await link.synced;
    for (let i = 0; i < 100; i++) await rt.ingest({ subject: '/c/slow', type: 'inc' });
    const it = link[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'value', value: 100 });
    expect(link.conflated).toBe(100);
    await it.return?.();
  });

  it('fail iteration with the error when the lane does not exist', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    const link = rt.link('/c/1', 'missing');
    await expect(link.synced).rejects.toMatchObject({ code: 'TWIN_LANE_NOT_FOUND' });
    await expect(
      (async () => {
        for await (const _ of link) void _;
      })(),
    ).rejects.toMatchObject({ code: 'TWIN_LANE_NOT_FOUND' });
  });
});

describe('idempotency by source + id', () => {
  it('applies a redelivered event once, also after the twin restarted, within a bounded window', async () => {
    const { rt } = simulatedRuntime({ models: [counter], dedupeWindow: 4 });
    const ev = (id: string, source = 'dev-1') => ({ subject: '/c/d', type: 'inc', id, source });
    await rt.ingest([ev('1'), ev('1'), ev('1', 'dev-2')]);
    expect(await rt.get('/c/d', 'n')).toBe(2);
    await rt.stop('/c/d');
    const report = await rt.ingest(ev('1'));
    expect(report).toEqual({ accepted: 1, rejected: [] }); // acknowledged: its effect is there
    expect(await rt.get('/c/d', 'n')).toBe(2);
    expect(rt.stats().duplicates).toBe(2);
    await rt.ingest([ev('2'), ev('3'), ev('4'), ev('5')]); // pushes '1' out of the 4-event window
    await rt.ingest(ev('1'));
    expect(await rt.get('/c/d', 'n')).toBe(7);
  });

  it('does not remember an event whose turn failed, so a retry can succeed', async () => {
    const { rt } = simulatedRuntime({ models: [counter] });
    await rt.ingest({ subject: '/c/e', type: 'explode', id: 'x', source: 's' });
    await rt.ingest({ subject: '/c/e', type: 'inc', id: 'x', source: 's' });
    expect(await rt.get('/c/e', 'n')).toBe(1);
  });
});

describe('writes of changed lanes', () => {
  it('persists a change of any lane, also past the 27 lanes a twin tracks one by one', async () => {
    const lanes: Record<string, ReturnType<typeof value<number>>> = {};
    for (let i = 0; i < 30; i++) lanes[`l${i}`] = value(0);
    const wide = defineTwin({
      name: 'wide',
      route: '/w/:id',
      lanes,
      on: {
        set: (ctx, e) =>
          (ctx.lanes as Record<string, { set(v: number): void }>)[(e.data as { lane: string }).lane]!.set(7),
      },
    });
    const store = new MemoryStateStore();
    const { rt } = simulatedRuntime({ models: [wide], store });
    for (const lane of ['l0', 'l26', 'l27', 'l29']) {
      await rt.ingest({ subject: '/w/1', type: 'set', data: { lane } });
      await rt.stop('/w/1'); // its state now comes from the store
      expect(await rt.get('/w/1', lane)).toBe(7);
    }
  });

  it('a stopped twin is free to start once `stop` resolves: its timer fires at its own time on a clock advanced at once', async () => {
    const alarm = defineTwin({
      name: 'alarm',
      route: '/a/:id',
      lanes: { firedAt: value(0) },
      on: { arm: (ctx) => ctx.timers.set('ring', 10_000) },
      onTimer: { ring: (ctx) => ctx.lanes.firedAt.set(ctx.now()) },
    });
    const { rt, clock } = simulatedRuntime({ models: [alarm], store: new MemoryStateStore() });
    await rt.ingest({ subject: '/a/1', type: 'arm' });
    const due = clock.now() + 10_000;
    await rt.stop('/a/1');
    // No settle in between: the stop's acknowledgement is the promise that the twin can
    // start again now, from what the stop wrote (it once resolved first, and the timer
    // then ran after the advance, at its end).
    clock.advance(60_000);
    await rt.settle();
    expect(await rt.get('/a/1', 'firedAt')).toBe(due);
  });
});
