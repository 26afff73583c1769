import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRuntime, shardIndex, SimulatedClock } from '../../src/index.js';
import { commandModels, commandModelSource } from '../support/command-models.js';
import { T0 } from '../support/runtime.js';

/** Two buildings whose shard keys land on different workers of 2. */
function twoShards(): [string, string] {
  const paths = Array.from({ length: 20 }, (_, i) => `/site/s/building/${i}`);
  const a = paths[0]!;
  const b = paths.find((p) => shardIndex(p, 2) !== shardIndex(a, 2))!;
  return [a, b];
}

describe('commands between twins (ctx.command)', () => {
  for (const workers of [0, 2]) {
    it(`are sent with the turn's commit and dropped with its rollback, on the same or another shard (${workers} workers)`, async () => {
      const rt = createRuntime({
        models: commandModels(),
        logger: pino({ level: 'silent' }),
        clock: new SimulatedClock(T0),
        workers: workers > 0 ? { count: workers, models: commandModelSource() } : undefined,
      });
      const [a, b] = twoShards();
      await rt.ingest({ subject: a, type: 'relay', id: 'ok', data: { to: b } });
      await rt.settle();
      expect(await rt.get(b, 'bumps')).toBe(1);
      const report = await rt.ingest({ subject: a, type: 'relay', id: 'fails', data: { to: b, fail: true } });
      expect(report.rejected.map((r) => r.error.code)).toEqual(['TWIN_PAYLOAD_REJECTED']);
      await rt.settle();
      expect(await rt.get(b, 'bumps')).toBe(1); // the failed turn's command never left
      await rt.close();
    });
  }
});
