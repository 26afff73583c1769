import { describe, expect, it } from 'vitest';
import { command, defineTwin, demand, join, map, supply, value, type LaneEvent } from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

const thing = defineTwin({
  name: 'thing',
  route: '/things/:id',
  lanes: {
    level: value<number>(0),
    changes: value<string[]>([]),
    tags: map<string>(),
    transientNote: value('', { transient: true }),
    bump: command<number>({
      parse: (v) => {
        if (typeof v !== 'number') throw new Error('a number');
        return v;
      },
    }),
    summary: demand<{ level: number; tags: number }>(),
    alerts: supply<string>(),
  },
  on: {
    set(ctx, e) {
      ctx.lanes.level.set((e.data as { level: number }).level);
    },
    tag(ctx, e) {
      const { key, tag } = e.data as { key: string; tag: string | null };
      if (tag === null) ctx.lanes.tags.remove(key);
      else ctx.lanes.tags.update(key, tag);
    },
    clear(ctx) {
      ctx.lanes.tags.clear();
    },
    alert(ctx, e) {
      ctx.lanes.alerts.push(String(e.data));
      ctx.lanes.alerts.push(String(e.data) + '!');
    },
    note(ctx, e) {
      ctx.lanes.transientNote.set(String(e.data));
    },
  },
  onSet: {
    level(ctx, next, old) {
      ctx.lanes.changes.set([...ctx.lanes.changes.get(), `${old}->${next}`]);
      ctx.lanes.summary.cue();
    },
  },
  onCommand: { bump: (ctx, by) => ctx.lanes.level.set(ctx.lanes.level.get() + by) },
  onDemand: { summary: (ctx) => ({ level: ctx.lanes.level.get(), tags: ctx.lanes.tags.size }) },
});

const group = defineTwin({
  name: 'group',
  route: '/things',
  lanes: { levels: join<number>({ from: 'thing', lane: 'level' }), total: value(0) },
  onJoin: { levels: { update: (ctx, _k, v, old) => ctx.lanes.total.set(ctx.lanes.total.get() + v - (old ?? 0)) } },
});

function collect(events: LaneEvent[]) {
  return (e: LaneEvent) => events.push(e);
}

describe('value lanes', () => {
  it('set/get with change hooks that see old and new values; equal writes are not changes', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest([
      { subject: '/things/a', type: 'set', data: { level: 1 } },
      { subject: '/things/a', type: 'set', data: { level: 1 } },
      { subject: '/things/a', type: 'set', data: { level: 3 } },
    ]);
    expect(await rt.get('/things/a', 'level')).toBe(3);
    expect(await rt.get('/things/a', 'changes')).toEqual(['0->1', '1->3']);
  });

  it('a value lane accepts a command as a set', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.command('/things/a', 'level', 7);
    expect(await rt.get('/things/a', 'level')).toBe(7);
  });

  it('transient lanes are not persisted across a stop', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest([
      { subject: '/things/a', type: 'note', data: 'hello' },
      { subject: '/things/a', type: 'set', data: { level: 2 } },
    ]);
    expect(await rt.get('/things/a', 'transientNote')).toBe('hello');
    await rt.stop('/things/a');
    expect(await rt.read('/things/a', ['transientNote', 'level'])).toMatchObject({
      lanes: { transientNote: '', level: 2 },
    });
  });
});

describe('map lanes', () => {
  it('update/remove/clear per key, with sync then live events', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest({ subject: '/things/a', type: 'tag', data: { key: 'x', tag: 'one' } });
    const events: LaneEvent[] = [];
    const link = rt.link('/things/a', 'tags', collect(events));
    await link.synced;
    expect(events).toEqual([{ type: 'update', key: 'x', value: 'one' }]);
    await rt.ingest([
      { subject: '/things/a', type: 'tag', data: { key: 'y', tag: 'two' } },
      { subject: '/things/a', type: 'tag', data: { key: 'x', tag: null } },
      { subject: '/things/a', type: 'clear' },
    ]);
    expect(events.slice(1)).toEqual([
      { type: 'update', key: 'y', value: 'two' },
      { type: 'remove', key: 'x' },
      { type: 'clear' },
    ]);
    expect(await rt.get('/things/a', 'tags')).toEqual({});
    link.close();
  });
});

describe('command lanes', () => {
  it('run the handler with the parsed command and broadcast it to observers', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    const events: LaneEvent[] = [];
    await rt.link('/things/a', 'bump', collect(events)).synced;
    await rt.command('/things/a', 'bump', 5);
    expect(await rt.get('/things/a', 'level')).toBe(5);
    expect(events).toEqual([{ type: 'value', value: 5 }]);
  });

  it('run once per idempotency key within the dedupe window (a client retry), also after the twin restarted', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.command('/things/a', 'bump', 5, { idempotencyKey: 'k1' });
    await rt.command('/things/a', 'bump', 5, { idempotencyKey: 'k1' }); // the retry: acknowledged, not run
    expect(await rt.get('/things/a', 'level')).toBe(5);
    await rt.command('/things/a', 'bump', 5, { idempotencyKey: 'k2' });
    await rt.command('/things/a', 'bump', 1);
    await rt.command('/things/a', 'bump', 1); // no key: every command runs
    expect(await rt.get('/things/a', 'level')).toBe(12);
    await rt.stop('/things/a'); // the window is part of the twin's stored state
    await rt.command('/things/a', 'bump', 5, { idempotencyKey: 'k2' });
    expect(await rt.get('/things/a', 'level')).toBe(12);
    expect(rt.stats().duplicates).toBe(2);
    for (const bad of ['', 'with space', 'x'.repeat(257), 'ünï'])
      await expect(rt.command('/things/a', 'bump', 1, { idempotencyKey: bad })).rejects.toMatchObject({
        code: 'TWIN_QUERY_INVALID',
      });
    expect(await rt.get('/things/a', 'level')).toBe(12);
  });

  it('reject bad payloads, unknown lanes and non-command lanes with stable codes', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await expect(rt.command('/things/a', 'bump', 'x')).rejects.toMatchObject({ code: 'TWIN_PAYLOAD_REJECTED' });
    await expect(rt.command('/things/a', 'nope', 1)).rejects.toMatchObject({ code: 'TWIN_LANE_NOT_FOUND' });
    await expect(rt.command('/things/a', 'tags', 1)).rejects.toMatchObject({ code: 'TWIN_LANE_KIND' });
    await expect(rt.command('/nowhere/a', 'bump', 1)).rejects.toMatchObject({ code: 'TWIN_NO_ROUTE' });
    expect(await rt.get('/things/a', 'level')).toBe(0);
  });
});

describe('join lanes', () => {
  it('keep the latest value of each child, keyed by path, and feed incremental hooks', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest([
      { subject: '/things/a', type: 'set', data: { level: 2 } },
      { subject: '/things/b', type: 'set', data: { level: 5 } },
    ]);
    await rt.ingest({ subject: '/things/a', type: 'set', data: { level: 4 } });
    expect(await rt.read('/things')).toMatchObject({ lanes: { levels: { '/things/a': 4, '/things/b': 5 }, total: 9 } });
  });

  it('keep the last known value of a stopped child', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest({ subject: '/things/a', type: 'set', data: { level: 2 } });
    await rt.stop('/things/a');
    expect(rt.activePaths()).not.toContain('/things/a');
    expect(await rt.get('/things', 'levels')).toEqual({ '/things/a': 2 });
    // Restarting re-announces the same value: no double counting.
    await rt.ingest({ subject: '/things/a', type: 'tag', data: { key: 'k', tag: 'v' } });
    expect(await rt.get('/things', 'total')).toBe(2);
  });
});

describe('demand and supply lanes', () => {
  it('demand lanes compute on sync and after cue()', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    const events: LaneEvent[] = [];
    await rt.link('/things/a', 'summary', collect(events)).synced;
    await rt.ingest({ subject: '/things/a', type: 'set', data: { level: 3 } });
    expect(events).toEqual([
      { type: 'value', value: { level: 0, tags: 0 } },
      { type: 'value', value: { level: 3, tags: 0 } },
    ]);
  });

  it('supply lanes push every value to current observers and keep nothing', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest({ subject: '/things/a', type: 'alert', data: 'early' });
    const events: LaneEvent[] = [];
    await rt.link('/things/a', 'alerts', collect(events)).synced;
    expect(events).toEqual([]);
    await rt.ingest({ subject: '/things/a', type: 'alert', data: 'fire' });
    expect(events).toEqual([
      { type: 'value', value: 'fire' },
      { type: 'value', value: 'fire!' },
    ]);
  });
});

describe('wildcard links', () => {
  it('sync every matching twin (live or stored), then stream changes naming each twin; new matches join', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest([
      { subject: '/things/a', type: 'set', data: { level: 1 } },
      { subject: '/things/b', type: 'set', data: { level: 2 } },
    ]);
    await rt.stop('/things/b'); // stored, not live: still matched
    const events: string[] = [];
    const link = rt.linkFilter('/things/*', 'level', (e, path) =>
      events.push(`${path}=${(e as { value: number }).value}`),
    );
    await link.synced;
    expect(events.sort()).toEqual(['/things/a=1', '/things/b=2']);
    events.length = 0;
    await rt.ingest([
      { subject: '/things/a', type: 'set', data: { level: 5 } },
      { subject: '/things/c', type: 'set', data: { level: 7 } },
    ]);
    expect(events).toEqual(['/things/a=5', '/things/c=7']); // a new twin meets the link once it has state
    link.close();
    await rt.ingest({ subject: '/things/a', type: 'set', data: { level: 6 } });
    expect(events).toHaveLength(2);
    expect(rt.stats().observers).toBe(0);
  });

  it('are iterable, conflating per twin', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    const link = rt.linkFilter('/things/**', 'level');
    await link.synced;
    for (let i = 1; i <= 5; i++)
      await rt.ingest([
        { subject: '/things/a', type: 'set', data: { level: i } },
        { subject: '/things/b', type: 'set', data: { level: -i } },
      ]);
    const got: string[] = [];
    for await (const { path, event } of link) {
      got.push(`${path}=${(event as { value: number }).value}`);
      if (got.length === 2) break;
    }
    expect(got).toEqual(['/things/a=5', '/things/b=-5']);
  });

  it('queue every event of a command lane when iterated (only state lanes conflate), as WARP wildcard links do', async () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    await rt.ingest({ subject: '/things/a', type: 'set', data: { level: 1 } });
    const link = rt.linkFilter('/things/*', 'bump');
    await link.synced;
    for (let i = 1; i <= 3; i++) await rt.command('/things/a', 'bump', i);
    const got: number[] = [];
    for await (const { event } of link) {
      got.push((event as { value: number }).value);
      if (got.length === 3) break;
    }
    expect(got).toEqual([1, 2, 3]); // a conflating outbox kept only 3
  });

  it('reject a plain link to a filter and malformed filters', () => {
    const { rt } = simulatedRuntime({ models: [thing, group] });
    expect(() => rt.link('/things/*', 'level')).toThrow(/linkFilter/);
    expect(() => rt.linkFilter('/things/a*', 'level')).toThrow(/stand alone/);
  });
});

describe('SortedSet', () => {
  it('keeps members sorted through adds, deletes and member replacement; fromSorted adopts without re-sorting', async () => {
    const { SortedSet } = await import('../../src/index.js');
    const s = SortedSet.fromSorted(['a', 'c', 'e']);
    expect(s.add('b')).toBe(true);
    expect(s.add('b')).toBe(false);
    expect(s.delete('e')).toBe(true);
    expect(s.replaceMembers(['a'], ['d', 'f'])).toBe(true);
    expect(s.toArray()).toEqual(['b', 'c', 'd', 'f']);
    expect(new SortedSet(['z', 'x', 'x']).toArray()).toEqual(['x', 'z']);
  });
});

describe('join projections', () => {
  const sensor = defineTwin({
    name: 'probe',
    route: '/p/:id',
    lanes: { reading: value<{ t: number; noise: number } | null>(null) },
    on: {
      r: (ctx, e) => ctx.lanes.reading.set(e.data as { t: number; noise: number }),
      // Sets a reading, then fails: rolled back, so what the parent has must not move.
      bad: (ctx, e) => {
        ctx.lanes.reading.set(e.data as { t: number; noise: number });
        throw new Error('bad reading');
      },
    },
  });
  let parentTurns = 0;
  const hub = defineTwin({
    name: 'hub',
    route: '/p',
    lanes: {
      temps: join<number | null>({
        from: 'probe',
        lane: 'reading',
        project: (r) => (r as { t: number } | null)?.t ?? null,
      }),
    },
    onJoin: { temps: { update: () => void parentTurns++ } },
  });

  it('keep only the projection and send updates only when it changed', async () => {
    const { rt } = simulatedRuntime({ models: [sensor, hub] });
    await rt.ingest({ subject: '/p/a', type: 'r', data: { t: 20, noise: 1 } });
    const afterFirst = parentTurns;
    await rt.ingest([
      { subject: '/p/a', type: 'r', data: { t: 20, noise: 2 } },
      { subject: '/p/a', type: 'r', data: { t: 20, noise: 3 } },
    ]);
    expect(parentTurns).toBe(afterFirst); // noise changed, the projection did not
    await rt.ingest({ subject: '/p/a', type: 'r', data: { t: 21, noise: 3 } });
    expect(parentTurns).toBe(afterFirst + 1);
    expect(await rt.get('/p', 'temps')).toEqual({ '/p/a': 21 });
    // A rolled-back turn leaves the projection the parent has as the one to compare with.
    await rt.ingest({ subject: '/p/a', type: 'bad', data: { t: 30, noise: 0 } });
    await rt.ingest({ subject: '/p/a', type: 'r', data: { t: 21, noise: 4 } });
    expect(parentTurns).toBe(afterFirst + 1);
    await rt.ingest({ subject: '/p/a', type: 'r', data: { t: 30, noise: 4 } });
    expect(parentTurns).toBe(afterFirst + 2);
    expect(await rt.get('/p', 'temps')).toEqual({ '/p/a': 30 });
  });
});

describe('a join projection that throws', () => {
  it('skips that update and leaves the shard and the child running (regression)', async () => {
    const probe = defineTwin({
      name: 'probe',
      route: '/q/:id',
      lanes: { v: value(0) },
      on: { s: (ctx, e) => ctx.lanes.v.set(e.data as number) },
    });
    const hub = defineTwin({
      name: 'hub',
      route: '/q',
      lanes: {
        vs: join<number>({
          from: 'probe',
          lane: 'v',
          project: (v) => {
            if (v === 13) throw new Error('unlucky');
            return v as number;
          },
        }),
      },
    });
    const { rt } = simulatedRuntime({ models: [probe, hub] });
    await rt.ingest({ subject: '/q/a', type: 's', data: 1 });
    const report = await rt.ingest([
      { subject: '/q/a', type: 's', data: 13 },
      { subject: '/q/b', type: 's', data: 2 },
    ]);
    expect(report.rejected).toEqual([]);
    expect(await rt.get('/q/a', 'v')).toBe(13);
    expect(await rt.get('/q', 'vs')).toEqual({ '/q/a': 1, '/q/b': 2 });
    await rt.ingest({ subject: '/q/a', type: 's', data: 14 });
    expect(await rt.get('/q', 'vs')).toEqual({ '/q/a': 14, '/q/b': 2 });
  });
});

describe('a demand lane that throws while its change is committed', () => {
  it('skips that observer update and keeps the turn and the shard going (regression)', async () => {
    const gauge = defineTwin({
      name: 'gauge',
      route: '/g/:id',
      lanes: { v: value(0), view: demand<number>() },
      on: {
        s: (ctx, e) => {
          ctx.lanes.v.set(e.data as number);
          ctx.lanes.view.cue();
        },
      },
      onDemand: {
        view: (ctx) => {
          if (ctx.lanes.v.get() === 13) throw new Error('unlucky');
          return ctx.lanes.v.get() * 2;
        },
      },
    });
    const { rt } = simulatedRuntime({ models: [gauge] });
    const seen: unknown[] = [];
    await rt.link('/g/a', 'view', (e) => seen.push((e as { value: unknown }).value)).synced;
    const report = await rt.ingest([
      { subject: '/g/a', type: 's', data: 13 },
      { subject: '/g/b', type: 's', data: 1 },
    ]);
    expect(report.rejected).toEqual([]);
    expect(await rt.get('/g/a', 'v')).toBe(13);
    await rt.ingest({ subject: '/g/a', type: 's', data: 4 });
    expect(seen).toEqual([0, 8]);
    expect(rt.stats().turnFailures).toBe(1);
  });
});
