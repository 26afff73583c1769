import { connectAsync } from 'mqtt';
import type { TwinEvent } from '../model/twin-model.js';

export interface PublishOptions {
  /** Events per second (default 1000). */
  rate?: number;
  qos?: 0 | 1;
  /** Topic prefix the node maps (its `--mqtt-prefix`, default none). */
  prefix?: string;
  signal?: AbortSignal;
  /** Called with the count published so far, every ~10 ms of the schedule (a progress bar). */
  onProgress?: (published: number) => void;
}

/**
 * Publishes events to an MQTT broker as structured CloudEvents (topic = path without its
 * leading slash), paced to `rate`. `time` is left out so the node stamps arrival time,
 * which keeps a live run live; `source`+`id` stay, so redeliveries are deduplicated.
 *
 * @example
 * ```ts
 * await publishEvents('mqtt://127.0.0.1:1883', generateFleet({ seed: 1, events: 10_000 }), { rate: 5000 });
 * ```
 */
export async function publishEvents(
  url: string,
  chunks: Iterable<readonly TwinEvent[]> | AsyncIterable<readonly TwinEvent[]>,
  options: PublishOptions = {},
): Promise<{ published: number; wallMs: number }> {
  const rate = options.rate ?? 1000;
  const qos = options.qos ?? 0;
  const prefix = options.prefix ?? '';
  const client = await connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    clientId: `twinflow-generate-${process.pid}`,
  });
  const started = performance.now();
  let published = 0;
  // Send in slices of ~10 ms worth, then sleep until the schedule catches up.
  const slice = Math.max(1, Math.round(rate / 100));
  let pending: Promise<unknown>[] = [];
  try {
    for await (const chunk of chunks) {
      for (const e of chunk) {
        options.signal?.throwIfAborted();
        const body = JSON.stringify({
          specversion: '1.0',
          id: e.id,
          source: e.source,
          type: e.type,
          subject: e.subject,
          datacontenttype: 'application/json',
          data: e.data,
        });
        pending.push(client.publishAsync(prefix + e.subject.slice(1), body, { qos }));
        if (++published % slice === 0) {
          await Promise.all(pending);
          pending = [];
          options.onProgress?.(published);
          const ahead = (published / rate) * 1000 - (performance.now() - started);
          if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
        }
      }
    }
    await Promise.all(pending);
  } finally {
    await client.endAsync();
  }
  return { published, wallMs: performance.now() - started };
}
