import { demoFeed, demoSecuredUnits } from '../../models/index.js';
import type { Logger } from '../logger.js';
import type { TwinflowNode } from '../node/node.js';
import { publishEvents } from '../recording/mqtt-publish.js';
import { readNumber } from '../node/config/flags.js';

/** The flags `serve` takes for the demo. */
export const DEMO_FLAGS = {
  demo: { type: 'boolean' },
  'demo-rate': { type: 'string' },
} as const;

export const DEMO_HELP = `
demo:
  --demo                    the building model in memory (unless --data is given) plus a simulated fleet
                            published through the node's own MQTT front, with fire, gas, occupancy, heat
                            and silent-sensor episodes; open the printed URL (also: npm run demo)
  --demo-rate <n>           events per second the simulated fleet publishes (default 300)
`;

/** A demo's sensors go offline after 15 s of silence (the model's default, 10 min, is too long to watch). */
export const DEMO_PARAMS = ['offlineAfter=15000'];

/** Events per second of `--demo` without `--demo-rate`: a few hundred, enough to keep every room moving. */
export const DEMO_RATE = 300;

/** `--demo-rate`: a positive number of events per second. */
export function demoRate(raw: string | undefined): number {
  if (raw === undefined) return DEMO_RATE;
  return readNumber('--demo-rate', raw, { min: 1 });
}

/**
 * Publishes the demo fleet ({@link demoFeed}) to the node's MQTT front at `rate` events/s
 * until `signal` aborts. It goes the way a real device's reading goes (MQTT, the ingest queue,
 * dedupe, the twin), so the dashboard shows the node as it runs, not a shortcut into it.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const done = runDemoFeed(node, logger, { rate: 300, signal: stop.signal });
 * ```
 */
export async function runDemoFeed(
  node: TwinflowNode,
  logger: Logger,
  options: { rate: number; signal: AbortSignal; prefix?: string },
): Promise<void> {
  const url = node.ingestion.mqtt?.url;
  if (!url) throw new Error('--demo publishes through the MQTT front: drop --no-mqtt');
  try {
    // The units where the feed's occupancy episodes happen: secured, so the security alert shows.
    await Promise.all(demoSecuredUnits().map((unit) => node.runtime.command(unit, 'secure', true)));
    await publishEvents(url, demoFeed({ seed: Date.now() % 100_000 }), {
      rate: options.rate,
      qos: 0,
      prefix: options.prefix,
      signal: options.signal,
    });
  } catch (err) {
    if (options.signal.aborted) return;
    logger.error({ err: (err as Error).message }, 'the demo feed stopped');
  }
}
