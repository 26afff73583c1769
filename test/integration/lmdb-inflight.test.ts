import { describe, expect, it } from 'vitest';
import { createRuntime, defineTwin, map, SimulatedClock, value } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';
import { pino } from 'pino';

const MIN = 60_000;
const PATH = '/t/1';

/*
 * LmdbStateStore queues asynchronous puts that lmdb-js commits on its write thread, so a
 * batch is invisible to reads until it commits. These tests write batches back to back
 * without waiting (relaxed durability), which is when a read-modify-write would go wrong.
 */
describe('LMDB batches in flight', () => {
  it('keeps one timer index entry per twin when its timer moves in batches not yet committed', async () => {
    const dir = tempDir();
    const store = LmdbStateStore.open({ path: dir, durability: 'relaxed' });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(store.write([{ op: 'record', path: PATH, values: { $v: 1, $timers: { t: T0 + i * MIN } } }]));
    }
    await Promise.all(writes);
    await store.sync();
    expect(store.dueTwins(T0 + 18 * MIN)).toEqual([]);
    expect(store.dueTwins(T0 + 19 * MIN)).toEqual([PATH]);
    expect(store.dueTwins(T0 + 1000 * MIN)).toEqual([PATH]);
    await store.close();
    const reopened = LmdbStateStore.open({ path: dir });
    expect(reopened.dueTwins(T0 + 1000 * MIN)).toEqual([PATH]);
    await reopened.close();
  });

  it('a map lane cleared while its earlier entries are still in flight loses them all', async () => {
    const model = defineTwin({
      name: 'bag',
      route: '/t/:id',
      lanes: { items: map<number>(), n: value(0) },
      on: {
        add(ctx, e) {
          const k = String((e.data as { k: number }).k);
          ctx.lanes.items.update(k, 1);
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
        },
        clear(ctx) {
          ctx.lanes.items.clear();
          ctx.lanes.items.update('kept', 2);
        },
      },
    });
    const dir = tempDir();
    const logger = pino({ level: 'silent' });
    const rt = createRuntime({
      models: [model],
      logger,
      clock: new SimulatedClock(T0),
      store: LmdbStateStore.open({ path: dir, durability: 'relaxed' }),
    });
    // Separate ingest calls, not awaited: separate steps, each a batch, committed back to back.
    const calls = [];
    for (let k = 0; k < 5; k++) calls.push(rt.ingest({ subject: PATH, type: 'add', id: `a${k}`, data: { k } }));
    calls.push(rt.ingest({ subject: PATH, type: 'clear', id: 'c' }));
    await Promise.all(calls);
    await rt.close();
    const rt2 = createRuntime({
      models: [model],
      logger,
      clock: new SimulatedClock(T0),
      store: LmdbStateStore.open({ path: dir }),
    });
    expect(await rt2.get(PATH, 'items')).toEqual({ kept: 2 });
    expect(await rt2.get(PATH, 'n')).toBe(5);
    await rt2.close();
  });
});
