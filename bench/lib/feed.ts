import type { EventInput, Runtime } from '../../src/index.js';

/**
 * Feeds `events` in batches with at most `inFlight` batches unacknowledged, as a real
 * front does (MQTT receive windows, HTTP clients awaiting their 202), then settles.
 */
export async function feed(rt: Runtime, events: readonly EventInput[], batch = 5000, inFlight = 4): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < events.length) {
      const start = next;
      next += batch;
      await rt.ingest(events.slice(start, start + batch));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await rt.settle();
}
