/**
 * The model-set contract end to end: a set passed to createRuntime/startNode/runReplay runs
 * the same on the calling thread and on worker threads, which import the set's module
 * themselves (parameter overrides and a plain-function shard key included).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRuntime, startNode, type TwinEvent } from '../../src/index.js';
import { runReplay } from '../../src/recording/replay-run.js';
import { counterSet, localSet } from '../support/model-sets.js';

const silent = pino({ level: 'silent' });

/** Readings of 3 meters in each of 4 zones, one step per second. */
function* readings(): Generator<TwinEvent[]> {
  let id = 0;
  for (let t = 0; t < 20; t++) {
    const chunk: TwinEvent[] = [];
    for (let z = 0; z < 4; z++)
      for (let m = 0; m <= (t + z) % 3; m++)
        chunk.push({
          id: String(++id),
          source: 't',
          type: 'reading',
          subject: `/zone/z${z}/meter/${m}`,
          time: 1000 * (t + 1),
          data: null,
        });
    yield chunk;
  }
}

describe('model sets', () => {
  it('replays a set with overrides at 0 and 2 workers to the same digest and the same aggregates', async () => {
    const totals: Record<number, unknown[]> = {};
    const digests: string[] = [];
    for (const workers of [0, 2]) {
      const r = await runReplay(readings(), {
        modelSet: counterSet.with({ step: 2, label: 'north' }),
        workers,
        logger: silent,
        inspect: async (rt) => {
          totals[workers] = await Promise.all(
            [0, 1, 2, 3].map((z) => rt.read(`/zone/z${z}`, ['total', 'label']).then((s) => s.lanes)),
          );
        },
      });
      digests.push(r.digest);
    }
    expect(digests[1]).toBe(digests[0]);
    // Zone z gets (t + z) % 3 + 1 readings per step, each worth step = 2.
    const expected = [0, 1, 2, 3].map((z) => ({
      total: 2 * Array.from({ length: 20 }, (_, t) => ((t + z) % 3) + 1).reduce((a, b) => a + b),
      label: 'north',
    }));
    expect(totals[0]).toEqual(expected);
    expect(totals[2]).toEqual(expected);
  }, 60_000);

  it('serves a set given by module URL from code with worker threads', async () => {
    const node = await startNode({
      modelSet: new URL('../support/model-sets.ts#counterSet', import.meta.url),
      workers: 2,
      port: 0,
      logger: silent,
    });
    try {
      const res = await fetch(`${node.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ subject: '/zone/a/meter/1' }, { subject: '/zone/a/meter/2' }]),
      });
      expect(res.status).toBe(202);
      await expect.poll(() => node.runtime.get('/zone/a', 'total'), { timeout: 10_000 }).toBe(2);
    } finally {
      await node.close();
    }
  }, 30_000);

  it('refuses a set workers cannot import, and models given twice, before anything starts', async () => {
    expect(() => createRuntime({ modelSet: localSet, workers: { count: 2 }, logger: silent })).toThrow(
      /worker threads import the set from its module/,
    );
    expect(() => createRuntime({ modelSet: localSet, models: localSet.models(), logger: silent })).toThrow(
      'give `models` or `modelSet`, not both',
    );
    expect(() => createRuntime({ logger: silent })).toThrow('a runtime needs `modelSet` (or `models`)');
    await expect(startNode({ modelSet: localSet, workers: 2, port: 0, logger: silent })).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
    });
  });
});
