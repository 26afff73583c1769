import { pino } from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { richValueSet } from './rich-value-model.js';
import { pollUntil } from './poll.js';

/** Waits until nodes `a` and `b` (in-process cluster runtimes) own every one of `vshards` between them, each some. */
export async function untilBothOwnAll(a: Runtime, b: Runtime, vshards: number): Promise<void> {
  await Promise.all([a.ready(), b.ready()]);
  await pollUntil(
    'every vshard owned, by both nodes',
    20_000,
    async () => [a.cluster!.owned().length, b.cluster!.owned().length],
    ([na, nb]) => na! > 0 && nb! > 0 && na! + nb! === vshards,
  );
}

/**
 * A cluster node in this process on the rich-value model set (lease 3 s), added to
 * `runtimes` so the test closes it. `DEBUG_LINKS=1` shows its warnings.
 */
export function richValueNode(runtimes: Runtime[], servers: string[], id: string, vshards: number): Runtime {
  const rt = createRuntime({
    modelSet: richValueSet,
    logger: pino({ level: process.env.DEBUG_LINKS ? 'warn' : 'silent' }),
    cluster: { servers, nodeId: id, vshards, leaseMs: 3_000 },
  });
  runtimes.push(rt);
  return rt;
}
