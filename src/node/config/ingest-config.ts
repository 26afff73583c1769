import type { IngestionOptions } from '../ingestion.js';
import { envValue, flagOrEnv, readNumber } from './flags.js';
import { parseWebhook } from '../outputs/webhook-sink.js';

/** `parseArgs` options of the ingestion flags of `twinflow serve`. */
export const INGEST_FLAGS = {
  'mqtt-port': { type: 'string' },
  'no-mqtt': { type: 'boolean' },
  'mqtt-host': { type: 'string' },
  'mqtt-url': { type: 'string' },
  'mqtt-topic-prefix': { type: 'string' },
  'mqtt-subscription': { type: 'string' },
  'mqtt-client-id': { type: 'string' },
  'mqtt-max-payload': { type: 'string' },
  'mqtt-max-packet': { type: 'string' },
  'mqtt-connect-timeout': { type: 'string' },
  'mqtt-max-connections': { type: 'string' },
  'mqtt-max-inflight': { type: 'string' },
  'mqtt-max-write-buffer': { type: 'string' },
  'mqtt-max-keepalive': { type: 'string' },
  webhook: { type: 'string', multiple: true },
} as const;

export const INGEST_HELP = `
  MQTT and outputs (see docs/ingestion.md):
  --mqtt-port <n>           embedded MQTT broker port, 0 for any free one (env TWINFLOW_MQTT_PORT, default 1883)
  --no-mqtt                 no MQTT at all: no embedded broker, no external one (env TWINFLOW_NO_MQTT=1)
  --mqtt-host <addr>        embedded broker listen address (env TWINFLOW_MQTT_HOST, default 127.0.0.1)
  --mqtt-url <url>          use an external broker instead, e.g. mqtt://127.0.0.1:1883 (env TWINFLOW_MQTT_URL);
                            a login as mqtt://user:password@host, best in the env (ps shows flags), logged as ***
  --mqtt-topic-prefix <p>   topic prefix before the twin path, e.g. "tf/" (env TWINFLOW_MQTT_TOPIC_PREFIX, default none)
  --mqtt-subscription <f>   external broker subscription, e.g. '$share/twinflow/org/#' (default <prefix>#)
  --mqtt-client-id <id>     external broker client id, stable across restarts (default twinflow-<hostname>)
  --mqtt-max-payload <n>    largest accepted MQTT payload in bytes (default 262144)
  --mqtt-max-packet <n>     embedded broker: largest MQTT packet, refused while reading (default max payload + 65536)
  --mqtt-connect-timeout <ms>  embedded broker: time to complete CONNECT after connecting (default 10000)
  --mqtt-max-connections <n>   embedded broker: concurrent client connections (default 10000)
  --mqtt-max-inflight <n>   embedded broker: QoS 1 PUBLISH per connection awaiting PUBACK, 1-65535 (default 1000)
  --mqtt-max-write-buffer <n>  embedded broker: bytes a client has not read before it is no longer read
                            and messages to it are dropped (default 1048576)
  --mqtt-max-keepalive <s>  embedded broker: longest keep alive granted; 0 or more is replaced by it, 1-65535 (default 600)
  --webhook <url>           POST derived events to this URL (CloudEvents HTTP, structured); repeatable;
                            prefix "binary:" for binary mode (env TWINFLOW_WEBHOOKS, comma-separated)
`;

type FlagValues = {
  [K in keyof typeof INGEST_FLAGS]?: (typeof INGEST_FLAGS)[K] extends { multiple: true }
    ? string[]
    : (typeof INGEST_FLAGS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/**
 * Turns the ingestion flags (then environment, then defaults) into node options.
 * Throws an Error naming the flag on bad input.
 *
 * @example
 * ```ts
 * ingestionFromFlags({ 'no-mqtt': true, webhook: ['http://127.0.0.1:8080/hook'] }, {});
 * // { mqtt: undefined, outputs: { webhooks: [{ url: 'http://127.0.0.1:8080/hook' }] } }
 * ```
 */
export function ingestionFromFlags(values: FlagValues, env: NodeJS.ProcessEnv = process.env): IngestionOptions {
  // Blank TWINFLOW_* variables count as unset (Number('') would be port 0: a random port).
  const urlSetting = flagOrEnv('mqtt-url', values['mqtt-url'], env, 'TWINFLOW_MQTT_URL');
  const url = urlSetting?.raw;
  const portSetting = flagOrEnv('mqtt-port', values['mqtt-port'], env, 'TWINFLOW_MQTT_PORT');
  const port = portSetting ? readNumber(portSetting.name, portSetting.raw, { integer: true, max: 65535 }) : 1883;
  const positive = (flag: keyof FlagValues, max = Infinity): number | undefined => {
    const text = values[flag];
    return typeof text === 'string' ? readNumber(`--${flag}`, text, { integer: true, min: 1, max }) : undefined;
  };
  const maxPayloadBytes = positive('mqtt-max-payload');
  // Broker bounds (see MqttOptions); unset ones take the front's defaults.
  const bounds = {
    maxPacketBytes: positive('mqtt-max-packet'),
    connectTimeoutMs: positive('mqtt-connect-timeout'),
    maxConnections: positive('mqtt-max-connections'),
    maxInflight: positive('mqtt-max-inflight', 65_535), // MQTT 5 Receive Maximum is 2 bytes
    maxWriteBufferBytes: positive('mqtt-max-write-buffer'),
    maxKeepaliveSeconds: positive('mqtt-max-keepalive', 65_535), // keep alive is 2 bytes of seconds
  };
  const embedded = Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined));
  if (url !== undefined && !/^(mqtts?|wss?|tcp|tls):\/\//.test(url))
    // Only its scheme: the URL may hold a password.
    throw new Error(
      `${urlSetting!.name} must be mqtt://, mqtts://, ws:// or wss://, got ${/^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? 'no scheme'}`,
    );
  const webhooks = (values.webhook ?? env.TWINFLOW_WEBHOOKS?.split(',').filter((w) => w.trim() !== '') ?? []).map(
    parseWebhook,
  );
  const common = {
    topicPrefix: values['mqtt-topic-prefix'] ?? envValue(env, 'TWINFLOW_MQTT_TOPIC_PREFIX'),
    ...(maxPayloadBytes !== undefined && { maxPayloadBytes }),
  };
  // Port 0 is any free port, as for --port (the node logs the one it got); --no-mqtt is off.
  const off = values['no-mqtt'] === true || /^(1|true|yes)$/i.test(envValue(env, 'TWINFLOW_NO_MQTT') ?? '');
  const mqtt = off
    ? undefined
    : url !== undefined
      ? {
          url,
          subscription: values['mqtt-subscription'],
          clientId: values['mqtt-client-id'] ?? envValue(env, 'TWINFLOW_MQTT_CLIENT_ID'),
          ...common,
        }
      : { port, host: values['mqtt-host'] ?? envValue(env, 'TWINFLOW_MQTT_HOST'), ...common, ...embedded };
  return { mqtt, outputs: { webhooks } };
}
