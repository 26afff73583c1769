import type { Runtime } from '../../src/index.js';
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
