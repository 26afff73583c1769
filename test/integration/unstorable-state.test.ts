/**
 * Issue 13, finding 1 (second half): "a poison event can never fail a shared commit". Input
 * is bounded at the edge; a model can still build state the store cannot encode. The store
 * then commits every other write of the batch and names the twins it left out; only the
 * events that went to those twins fail (non-retryable), and those twins restart from their
 * stored state. Real LMDB in a temp dir, at 0 and 2 workers.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LmdbStateStore } from '../../src/persistence/lmdb-store.js';
import { tempDir } from '../support/tmp.js';
import { unstorableModels, unstorableModelSource } from '../support/unstorable-model.js';

const DEEP = 200_000; // far past msgpack's recursion, in a worker's stack too

function open(workers: number, dir: string): Runtime {
  return createRuntime({
    models: unstorableModels(), logger: pino({ level: 'silent' }),
    ...(workers > 0
      ? { workers: { count: workers, models: unstorableModelSource(), dataDir: dir, durability: 'strict' as const, logLevel: 'silent' } }
      : { store: LmdbStateStore.open({ path: dir, durability: 'strict' }) }),
  });
}

describe.each([0, 2])('#13.1 unstorable state at %i workers (LMDB strict)', (workers) => {
  it('#13.1 a twin whose state cannot be encoded fails alone; the rest of the commit is durable', async () => {
    const dir = tempDir('tf-unstorable-');
    let rt = open(workers, dir);
    const crates = Array.from({ length: 6 }, (_, i) => `/site/s/crate/${i}`);
    expect((await rt.ingest(crates.map((subject, i) => ({ subject, type: 'count', id: `c0-${i}`, source: 't' })))).accepted).toBe(6);

    // One batch, one step per worker: five innocent events and one that makes crate 2 unstorable.
    const report = await rt.ingest(crates.map((subject, i) => i === 2
      ? { subject, type: 'grow', data: { levels: DEEP }, id: 'poison', source: 't' }
      : { subject, type: 'count', id: `c1-${i}`, source: 't' }));
    expect(report.rejected.map((r) => [r.index, r.error.code])).toEqual([[2, 'TWIN_STATE_UNSTORABLE']]);
    expect(report.accepted).toBe(5);
    await rt.settle();
    expect(rt.stats().unstorable).toBeGreaterThanOrEqual(1);
    // The poisoned twin is back at its stored state, and takes new events.
    expect(await rt.get(crates[2]!, 'n')).toBe(1);
    expect(await rt.get(crates[2]!, 'shape')).toBe(null);
    expect((await rt.ingest({ subject: crates[2]!, type: 'count', id: 'c2-after', source: 't' })).accepted).toBe(1);

    await rt.close();
    rt = open(workers, dir);
    const n = await Promise.all(crates.map((p) => rt.get(p, 'n')));
    expect(n).toEqual([2, 2, 2, 2, 2, 2]);
    await rt.close();
  }, 60_000);
});
