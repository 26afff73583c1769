import type { Logger } from '../logger.js';
import type { MqttPublish } from '../outputs/mqtt-sink.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { connectExternalBroker } from './external-broker.js';
import type { IngestQueue } from './ingest-queue.js';
import { MqttIngest } from './mqtt-ingest.js';
import { MqttDecoder, TopicMap } from './mqtt-message.js';

/** MQTT settings of a node (`NodeOptions.mqtt`). */
export interface MqttOptions {
  /** Embedded broker port (0 = any free port). Ignored when `url` is set. */
  port?: number;
  /** Embedded broker listen address (default 127.0.0.1). */
  host?: string;
  /** External broker (`mqtt://host:port`): the node becomes its client instead of embedding one. */
  url?: string;
  /** Topic prefix before the path (`tf/` maps `tf/org/a/…` to `/org/a/…`; default none). */
  topicPrefix?: string;
  /** External mode: the subscription (default `<prefix>#`; e.g. `$share/twinflow/org/#`). */
  subscription?: string;
  /** External mode: our client id (stable, so the broker keeps our session). */
  clientId?: string;
  /** External mode: 5 (default) or 4 for MQTT 3.1.1. */
  protocolVersion?: 4 | 5;
  /** Largest accepted payload in bytes (default 256 KiB). */
  maxPayloadBytes?: number;
  /** CloudEvent attribute that names the twin path (default `subject`; the topic when absent). */
  pathAttribute?: string;
}

/** The MQTT side of a node. */
export interface MqttFront {
  /** `mqtt://host:port` of the embedded broker, or the external broker's URL. */
  readonly url: string;
  /** The embedded broker's port (undefined in external mode). */
  readonly port: number | undefined;
  readonly topics: TopicMap;
  readonly publish: MqttPublish;
  close(): Promise<void>;
}

/**
 * Starts the MQTT side: an embedded broker, or a client of `options.url`.
 *
 * @example
 * ```ts
 * const front = await startMqttFront({ port: 1883 }, queue, logger);
 * ```
 */
export async function startMqttFront(options: MqttOptions, queue: IngestQueue, log: Logger): Promise<MqttFront> {
  const topics = new TopicMap(options.topicPrefix ?? '');
  const decoder = new MqttDecoder({ maxPayloadBytes: options.maxPayloadBytes, pathAttribute: options.pathAttribute });
  const ingest = new MqttIngest(queue, topics, decoder);
  if (options.url) {
    const ext = await connectExternalBroker(
      { url: options.url, subscription: options.subscription, clientId: options.clientId, protocolVersion: options.protocolVersion },
      `${topics.prefix}#`, ingest, log,
    );
    return { url: options.url, port: undefined, topics, publish: ext.publish, close: ext.close };
  }
  const broker = await startEmbeddedBroker({ port: options.port ?? 1883, host: options.host }, ingest, queue, log);
  return { url: broker.url, port: broker.port, topics, publish: broker.publish, close: broker.close };
}
