/**
 * MQTT publishers for the ingest benches: the fleet's topics and payloads, a publishing
 * loop, and {@link MqttLoad}, which runs that loop on its own thread. A node never shares
 * its event loop with its devices, and a publisher on the node's thread both took CPU
 * from it and hid what its sockets do (bench/README, "ingest", 2026-12-06).
 */
import { Worker } from 'node:worker_threads';
import type { MqttClient } from 'mqtt';

/** 2,000 climate sensors over 10 buildings. */
export const SENSORS = Array.from(
  { length: 2000 },
  (_, i) =>
    `/org/bench/site/s0/building/b${i % 10}/floor/${(i >> 4) % 10}/unit/u${i % 5}/room/${i % 16}/sensors/climate`,
);
export const TOPICS = SENSORS.map((p) => p.slice(1));
const PAYLOADS = Array.from({ length: 16 }, (_, i) =>
  Buffer.from(JSON.stringify({ temperature: 18 + i / 4, humidity: 40 + i, co2: 420 })),
);

/**
 * Publishes `n` readings. QoS 0 writes in a tight loop and waits for the socket to drain
 * when its buffer is large (per-message callbacks would each add a 'drain' listener);
 * QoS 1 keeps at most `window` unacknowledged.
 */
export async function publishMany(
  c: MqttClient,
  n: number,
  qos: 0 | 1,
  topicPrefix = '',
  window = 1000,
): Promise<void> {
  if (qos === 0) {
    for (let i = 0; i < n; i++) {
      c.publish(topicPrefix + TOPICS[i % TOPICS.length]!, PAYLOADS[i % PAYLOADS.length]!, { qos: 0 });
      if ((i & 255) === 255 && c.stream.writableLength > 1 << 20) await new Promise((r) => c.stream.once('drain', r));
    }
    return;
  }
  let sent = 0,
    done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (sent < n && sent - done < window) {
        const i = sent++;
        c.publish(topicPrefix + TOPICS[i % TOPICS.length]!, PAYLOADS[i % PAYLOADS.length]!, { qos }, (err) => {
          if (err) return reject(err);
          if (++done === n) resolve();
          else if (sent < n && sent - done < window / 2) pump();
        });
      }
    };
    pump();
  });
}

/** What {@link MqttLoad} asks of its thread (see mqtt-load-worker.ts). */
export type MqttLoadJob = { n: number; qos: 0 | 1; prefix: string };
export type MqttLoadReply = 'ready' | 'closed' | { ms: number } | { error: string };

/**
 * One MQTT client on its own thread: connected by {@link MqttLoad.open}, then
 * {@link publish} as often as needed, then {@link close}.
 *
 * @example
 * ```ts
 * const load = await MqttLoad.open(node.ingestion.mqtt!.url);
 * await load.publish(20_000, 1); // resolves when every PUBACK came back
 * await load.close();
 * ```
 */
export class MqttLoad {
  private constructor(private readonly worker: Worker) {}

  static async open(url: string, connect: { username?: string; password?: string } = {}): Promise<MqttLoad> {
    const worker = new Worker(new URL('./mqtt-load-worker.js', import.meta.url), { workerData: { url, connect } });
    const load = new MqttLoad(worker);
    try {
      await load.reply();
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return load;
  }

  /** Publishes `n` readings (QoS 0: written; QoS 1: acknowledged); resolves with the time it took. */
  async publish(n: number, qos: 0 | 1, prefix = ''): Promise<number> {
    const answer = this.reply();
    this.worker.postMessage({ n, qos, prefix } satisfies MqttLoadJob);
    return ((await answer) as { ms: number }).ms;
  }

  async close(): Promise<void> {
    const answer = this.reply();
    this.worker.postMessage('close');
    await answer.catch(() => undefined);
    await this.worker.terminate();
  }

  private reply(): Promise<MqttLoadReply> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.worker.off('message', onMessage);
        reject(err);
      };
      const onMessage = (m: MqttLoadReply): void => {
        this.worker.off('error', onError);
        if (typeof m === 'object' && 'error' in m) reject(new Error(m.error));
        else resolve(m);
      };
      this.worker.once('message', onMessage);
      this.worker.once('error', onError);
    });
  }
}
