import type { Logger } from '../../logger.js';
import type { MqttPublish } from '../outputs/mqtt-sink.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { connectExternalBroker } from './external-broker.js';
import type { IngestQueue } from './ingest-queue.js';
import { MqttIngest } from './mqtt-ingest.js';
import { DEFAULT_MAX_PAYLOAD, MqttDecoder, TopicMap } from './mqtt-message.js';
import { DEFAULT_MAX_KEEPALIVE_SECONDS } from './keepalive.js';
import type { Rejections } from '../rejections.js';
import { AccessControl } from '../../access/access-control.js';
import { MqttAccess } from '../auth/mqtt-access.js';
import type { TlsOptions } from '../tls/tls-options.js';
import { IngestQuota } from './ingest-quota.js';

/** Defaults of the embedded broker's bounds (see docs/ingestion.md, "Limits"). */
export const MQTT_DEFAULTS = {
  /** Room for the topic (up to 64 KiB) and MQTT 5 properties on top of the largest payload. */
  packetOverheadBytes: 64 * 1024,
  connectTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxInflight: 1000,
  maxWriteBufferBytes: 1024 * 1024,
  maxKeepaliveSeconds: DEFAULT_MAX_KEEPALIVE_SECONDS,
} as const;

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
  /** Embedded broker: largest MQTT packet a client may send, refused while reading (default payload limit + 64 KiB). */
  maxPacketBytes?: number;
  /** Embedded broker: time a new connection has to complete CONNECT (default 10 s). */
  connectTimeoutMs?: number;
  /** Embedded broker: concurrent client connections (default 10 000). */
  maxConnections?: number;
  /** Embedded broker: QoS 1 PUBLISH per connection awaiting PUBACK, MQTT 5 Receive Maximum (default 1000). */
  maxInflight?: number;
  /** Embedded broker: bytes waiting to be taken by a client past which it is no longer read and messages to it are dropped (default 1 MiB). */
  maxWriteBufferBytes?: number;
  /** Embedded broker: longest keep alive granted, in seconds; 0 (none) or more is replaced by it (default 600, at most 65535). */
  maxKeepaliveSeconds?: number;
  /** CloudEvent attribute that names the twin path (default `subject`; the topic when absent). */
  pathAttribute?: string;
  /** Embedded broker: serve MQTTS only (the node passes its `tls`). */
  tls?: TlsOptions;
}

/** The MQTT side of a node. */
export interface MqttFront {
  /** `mqtt://host:port` (`mqtts://` with TLS) of the embedded broker, or the external broker's URL. */
  readonly url: string;
  /** Embedded MQTTS broker: swaps the certificate for new connections (undefined otherwise). */
  readonly setSecureContext: ((tls: TlsOptions) => void) | undefined;
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
 * const front = await startMqttFront({ port: 1883 }, queue, rejections, logger);
 * ```
 */
export async function startMqttFront(
  options: MqttOptions,
  queue: IngestQueue,
  rejections: Rejections,
  log: Logger,
  access: AccessControl = AccessControl.open(),
  /** Ingest rate per sender, enforced by the embedded broker (an external one's clients are its own business). */
  quota: IngestQuota = new IngestQuota(),
): Promise<MqttFront> {
  const topics = new TopicMap(options.topicPrefix ?? '');
  const decoder = new MqttDecoder({ maxPayloadBytes: options.maxPayloadBytes, pathAttribute: options.pathAttribute });
  const ingest = new MqttIngest(queue, topics, decoder);
  if (options.url) {
    const ext = await connectExternalBroker(
      {
        url: options.url,
        subscription: options.subscription,
        clientId: options.clientId,
        protocolVersion: options.protocolVersion,
      },
      `${topics.prefix}#`,
      ingest,
      log,
    );
    return {
      url: options.url,
      port: undefined,
      topics,
      publish: ext.publish,
      setSecureContext: undefined,
      close: ext.close,
    };
  }
  const limits = {
    maxPacketBytes:
      options.maxPacketBytes ?? (options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD) + MQTT_DEFAULTS.packetOverheadBytes,
    connectTimeoutMs: options.connectTimeoutMs ?? MQTT_DEFAULTS.connectTimeoutMs,
    // MQTT 5 Receive Maximum is a 2-byte number.
    maxInflight: Math.min(options.maxInflight ?? MQTT_DEFAULTS.maxInflight, 65_535),
    maxWriteBufferBytes: options.maxWriteBufferBytes ?? MQTT_DEFAULTS.maxWriteBufferBytes,
    // Keep alive is a 2-byte number of seconds (MQTT 5 Server Keep Alive too).
    maxKeepaliveSeconds: Math.max(
      1,
      Math.min(options.maxKeepaliveSeconds ?? MQTT_DEFAULTS.maxKeepaliveSeconds, 65_535),
    ),
  };
  const maxConnections = options.maxConnections ?? MQTT_DEFAULTS.maxConnections;
  // The external broker authenticates its own clients (its ACLs); the embedded one uses the node's rules.
  const mqttAccess = new MqttAccess(access, topics);
  const broker = await startEmbeddedBroker(
    {
      port: options.port ?? 1883,
      host: options.host,
      maxConnections,
      limits,
      access: mqttAccess,
      tls: options.tls,
      quota,
    },
    ingest,
    queue,
    rejections,
    log,
  ).catch((err: unknown) => {
    mqttAccess.close();
    throw err;
  });
  const close = async (): Promise<void> => {
    mqttAccess.close();
    await broker.close();
  };
  return {
    url: broker.url,
    port: broker.port,
    topics,
    publish: broker.publish,
    setSecureContext: broker.setSecureContext,
    close,
  };
}
