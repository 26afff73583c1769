/**
 * Issue 13, finding 1 (second half): "a poison event can never fail a shared commit". Input
 * is bounded at the edge; a model can still build state the store cannot take. Lanes refuse
 * such a value when the model sets it, so that turn rolls back alone: its event fails
 * (non-retryable), its derived events are never emitted, and everything else in the step
 * commits. Real LMDB in a temp dir, at 0 and 2 workers.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRuntime, type DerivedEvent, type Runtime } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { tempDir } from '../support/tmp.js';
import { unstorableModels, unstorableModelSource } from '../support/unstorable-model.js';

const DEEP = 5_000; // past what the store's encoder takes (and past the shard's bound of 200)

function open(workers: number, dir: string): Runtime {
  return createRuntime({
    models: unstorableModels(),
    logger: pino({ level: 'silent' }),
    ...(workers > 0
      ? {
          workers: {
            count: workers,
            models: unstorableModelSource(),
            dataDir: dir,
            durability: 'strict' as const,
            logLevel: 'silent',
          },
        }
      : { store: LmdbStateStore.open({ path: dir, durability: 'strict' }) }),
  });
}

const crates = Array.from({ length: 6 }, (_, i) => `/site/s/crate/${i}`);
const count = (i: number, id: string) => ({ subject: crates[i]!, type: 'count', id, source: 't' });

describe.each([0, 2])('#13.1 unstorable state at %i workers (LMDB strict)', (workers) => {
  it.each([
    ['a value and a map entry nested too deep', { type: 'grow', data: { levels: DEEP } }],
    ["a map key past the store's key size", { type: 'tag', data: { keyLength: 3000 } }],
    ['a value and a map entry with a "__proto__" key', { type: 'proto', data: {} }],
  ])(
    '#13.1 %s: the twin fails alone, the rest of the commit is durable',
    async (_what, poison) => {
      const dir = tempDir('tf-unstorable-');
      let rt = open(workers, dir);
      const outputs: DerivedEvent[] = [];
      rt.onOutput((e) => outputs.push(e));
      expect((await rt.ingest(crates.map((_, i) => count(i, `c0-${i}`)))).accepted).toBe(6);

      // One batch: five innocent events and one that makes crate 2's state unstorable.
      const report = await rt.ingest(
        crates.map((subject, i) => (i === 2 ? { subject, ...poison, id: 'poison', source: 't' } : count(i, `c1-${i}`))),
      );
      expect(report.rejected.map((r) => [r.index, r.error.code])).toEqual([[2, 'TWIN_STATE_UNSTORABLE']]);
      expect(report.accepted).toBe(5);
      await rt.settle();
      expect(rt.stats().unstorable).toBe(1);
      // The failed turn emitted nothing; the innocent crates' outputs (which name the same subject) all went out.
      expect(outputs.filter((o) => o.type === 'grown')).toEqual([]);
      expect(outputs.filter((o) => o.type === 'counted')).toHaveLength(11);

      // Nothing of the poison event is left, in the value lanes or the map, and the twin takes new events.
      expect(await rt.get(crates[2]!, 'n')).toBe(1);
      expect(await rt.get(crates[2]!, 'shape')).toBe(null);
      expect(await rt.get(crates[2]!, 'tags')).toEqual({});
      expect((await rt.ingest(count(2, 'c2-after'))).accepted).toBe(1);

      await rt.close();
      rt = open(workers, dir);
      expect(await Promise.all(crates.map((p) => rt.get(p, 'n')))).toEqual([2, 2, 2, 2, 2, 2]);
      expect(await rt.get(crates[2]!, 'tags')).toEqual({});
      await rt.close();
    },
    60_000,
  );
});
