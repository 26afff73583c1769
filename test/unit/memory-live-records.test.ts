/**
 * MemoryStateStore holds a live twin's record by reference (StateStore.liveRecords): no
 * record object per step, built when read. What a reader sees must not change: exactly the
 * state of the last step that wrote the twin (never a turn or step in progress), and after
 * a stop the final record as a value. Checked against the same store with its own write
 * overridden (which turns held records off: every record is a write, as before).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defineTwin,
  join,
  map,
  MemoryStateStore,
  value,
  window,
  type StateWrite,
  type StoredTwin,
} from '../../src/index.js';
import { advance, simulatedRuntime, T0 } from '../support/runtime.js';

/** The same store, writing every record (its `write` is not the class's own). */
class WritingStore extends MemoryStateStore {
  override write(batch: readonly StateWrite[]): Promise<void> {
    return super.write(batch);
  }
}

/** Loads made by a model hook while its step runs, and what they returned. */
const seen: { path: string; result: StoredTwin | undefined | Promise<StoredTwin | undefined> }[] = [];
let peekStore: MemoryStateStore | undefined;

const counter = defineTwin({
  name: 'counter',
  route: '/c/:id',
  lanes: {
    n: value(0),
    seen: map<number>(),
    // Closed windows are entries (written when they close, deleted when trimmed).
    hist: window({ source: 'n', sample: (v) => v as number, kind: 'tumbling', size: 20_000, keep: 2 }),
  },
  on: {
    inc(ctx, e) {
      ctx.lanes.n.set(ctx.lanes.n.get() + 1);
      ctx.lanes.seen.update(String(ctx.lanes.n.get() % 3), ctx.lanes.n.get());
      ctx.timers.set('quiet', 60_000 + ctx.lanes.n.get());
      const target = (e.data as { peek?: string } | null)?.peek;
      if (target && peekStore) seen.push({ path: target, result: peekStore.load(target) });
    },
  },
  onTimer: { quiet: (ctx) => ctx.lanes.n.set(0) },
});

/** The parent of every counter: a join lane (entries per child). */
const hub = defineTwin({ name: 'hub', route: '/c', lanes: { ns: join<number>({ from: 'counter', lane: 'n' }) } });

/** What a store holds, comparable across stores: every path with its record and entries. */
async function contents(store: MemoryStateStore): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const path of [...store.list('')].sort()) {
    const stored = await store.load(path);
    const entries = [...(stored?.entries ?? new Map())].map(([lane, m]) => [lane, [...m].sort()]);
    out.push([path, stored?.values, entries]);
  }
  return out;
}

describe('MemoryStateStore: held records of live twins', () => {
  it('is on for the class itself, off for a subclass that changes how writes commit', () => {
    expect(new MemoryStateStore().liveRecords()).toBeDefined();
    expect(new WritingStore().liveRecords()).toBeUndefined();
  });

  it('a load during a step sees the last written state: a twin changed in the step is read once the step ended', async () => {
    const store = new MemoryStateStore();
    peekStore = store;
    seen.length = 0;
    const { rt } = simulatedRuntime({ models: [counter, hub], store });
    await rt.ingest(['/c/a', '/c/b', '/c/z'].map((subject) => ({ subject, type: 'inc' })));
    await rt.settle();
    // One step: /c/a changes, then /c/b's turn reads /c/a (changed in this step), itself
    // (mid-turn) and /c/z (not changed in this step: its record is the stored one, at once).
    await rt.ingest([
      { subject: '/c/a', type: 'inc' },
      { subject: '/c/b', type: 'inc', data: { peek: '/c/a' } },
      { subject: '/c/b', type: 'inc', data: { peek: '/c/b' } },
      { subject: '/c/b', type: 'inc', data: { peek: '/c/z' } },
      { subject: '/c/a', type: 'inc' },
    ]);
    expect(seen.map((s) => s.result instanceof Promise)).toEqual([true, true, false]);
    expect((seen[2]!.result as StoredTwin).values.n).toBe(1);
    const [a, b] = await Promise.all([seen[0]!.result, seen[1]!.result]);
    expect(a?.values.n).toBe(3); // the state the step committed, including its turns after the read
    expect(b?.values.n).toBe(4);
    await rt.settle();
    expect((store.load('/c/a') as StoredTwin).values).toMatchObject({ n: 3, $timers: { quiet: T0 + 60_003 } });
    peekStore = undefined;
    await rt.close();
  });

  it('holds the same state as a store that writes every record, through passivation, timers and a restart', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('inc' as const),
        id: fc.integer({ min: 0, max: 5 }),
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 90_000 }) }),
    );
    let closedWindows = 0;
    let joined = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const held = new MemoryStateStore();
        const written = new WritingStore();
        const runs = [held, written].map((store) =>
          simulatedRuntime({ models: [counter, hub], store, passivation: { maxActive: 3 } }),
        );
        let k = 0;
        for (const o of ops) {
          for (const { rt, clock } of runs) {
            if (o.kind === 'advance') {
              clock.advance(o.ms);
            } else {
              const events = Array.from({ length: o.count }, (_, i) => ({
                subject: `/c/${o.id}`,
                type: 'inc',
                id: `e${k}.${i}`,
              }));
              await rt.ingest(events);
            }
            await rt.settle();
          }
          k++;
          expect(await contents(held)).toEqual(await contents(written));
        }
        const lanes = JSON.stringify(await contents(written));
        if (lanes.includes('"hist"')) closedWindows++;
        if (lanes.includes('"ns"')) joined++;
        for (const { rt } of runs) await rt.close();
        // A second runtime on each store starts from it and must read the same.
        const again = [held, written].map((store) => simulatedRuntime({ models: [counter, hub], store }).rt);
        const reads = await Promise.all(
          again.map((rt) =>
            Promise.all(
              ['/c', ...[0, 1, 2, 3, 4, 5].map((i) => `/c/${i}`)].map((p) => rt.read(p).then((r) => r.lanes)),
            ),
          ),
        );
        expect(reads[0]).toEqual(reads[1]);
        for (const rt of again) await rt.close();
      }),
      { numRuns: 40 },
    );
    // The runs did store entries of both keyed lanes (closed windows, join entries).
    expect(closedWindows).toBeGreaterThan(0);
    expect(joined).toBeGreaterThan(0);
  });

  it("past the bound of a record's keyed lanes (the written store moves them to entries, held twins do not), both restore the same state", async () => {
    // 40 children: the written store's hub join moves out of its record (INLINE_MAX_ENTRIES
    // 32); a held hub keeps its layout until it stops, and then writes it as it is.
    const held = new MemoryStateStore();
    const written = new WritingStore();
    const runs = [held, written].map((store) =>
      simulatedRuntime({ models: [counter, hub], store, passivation: { maxActive: 8 } }),
    );
    for (const { rt, clock } of runs) {
      for (let round = 0; round < 3; round++) {
        await rt.ingest(
          Array.from({ length: 40 }, (_, i) => ({ subject: `/c/${i}`, type: 'inc', id: `r${round}.${i}` })),
        );
        await rt.settle();
        clock.advance(5_000);
        await rt.settle();
      }
      await rt.close();
    }
    const writtenHub = written.load('/c') as StoredTwin; // synchronous: no load delay set
    expect(writtenHub.entries.get('ns')?.size).toBe(40); // written: as entries
    const again = [held, written].map((store) => simulatedRuntime({ models: [counter, hub], store }).rt);
    const paths = ['/c', ...Array.from({ length: 40 }, (_, i) => `/c/${i}`)];
    const reads = await Promise.all(again.map((rt) => Promise.all(paths.map((p) => rt.read(p).then((r) => r.lanes)))));
    expect(Object.keys(reads[0]![0]!.ns as object)).toHaveLength(40);
    expect(reads[0]).toEqual(reads[1]);
    for (const rt of again) await rt.close();
  });

  it('keeps a value, not the twin, once the twin stopped', async () => {
    const store = new MemoryStateStore();
    const { rt, clock } = simulatedRuntime({ models: [counter, hub], store, passivation: { idleMs: 1_000 } });
    await rt.ingest({ subject: '/c/1', type: 'inc' });
    await rt.settle();
    // Held while live: each load builds the record anew.
    expect((store.load('/c/1') as StoredTwin).values).not.toBe((store.load('/c/1') as StoredTwin).values);
    await advance(rt, clock, 5_000); // idle: passivated
    expect(rt.activePaths()).toEqual([]);
    expect((store.load('/c/1') as StoredTwin).values).toBe((store.load('/c/1') as StoredTwin).values);
    expect((store.load('/c/1') as StoredTwin).values).toMatchObject({ n: 1 });
    await rt.close();
  });
});
