import { pino } from 'pino';
import { afterEach } from 'vitest';
import { createRuntime, SimulatedClock, type Runtime, type RuntimeOptions } from '../../src/index.js';

/** 2026-01-01T00:00:00Z: simulated runs start here unless a test says otherwise. */
export const T0 = Date.UTC(2026, 0, 1);

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});

/** A runtime on a simulated clock with a silent logger, closed after the test. */
export function simulatedRuntime(options: Omit<RuntimeOptions, 'clock'> & { start?: number }): { rt: Runtime; clock: SimulatedClock } {
  const clock = new SimulatedClock(options.start ?? T0);
  const rt = createRuntime({ logger: pino({ level: 'silent' }), ...options, clock });
  open.push(rt);
  return { rt, clock };
}

/** Moves simulated time and waits until everything it triggered is committed. */
export async function advance(rt: Runtime, clock: SimulatedClock, ms: number): Promise<void> {
  await rt.settle();
  clock.advance(ms);
  await rt.settle();
}
