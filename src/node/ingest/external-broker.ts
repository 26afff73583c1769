import { hostname } from 'node:os';
import { shownUrl } from '../shown-url.js';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Logger } from '../../logger.js';
import { reasonFor, type MqttIngest } from './mqtt-ingest.js';
import { TwinError } from '../../errors.js';
import { MAX_ID_LENGTH } from '../../actors/event-input.js';
import { CE_JSON, MAX_CLIENT_ID_LENGTH } from './mqtt-message.js';

export interface ExternalBrokerOptions {
  /** `mqtt://host:port` (or `mqtts://`, `ws://`) of the broker. */
  url: string;
  /** What to subscribe to, e.g. `$share/twinflow/org/#` (MQTT 5 shared subscription). Default `<prefix>#`. */
  subscription?: string;
  /** Stable across restarts, so the broker keeps our session (and unacknowledged QoS 1 messages). */
  clientId?: string;
  /** 5 (default) or 4 (3.1.1). */
  protocolVersion?: 4 | 5;
  /** Session expiry the broker should keep for us while we are gone (s; MQTT 5; default 3600). */
  sessionExpiry?: number;
}

/** A connection to an external broker: ingests its subscription and publishes outputs. */
export interface ExternalBroker {
  readonly client: MqttClient;
  // Closures (no `this`): callers may pass them on unbound.
  readonly publish: (topic: string, payload: Buffer, qos: 0 | 1) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** mqtt.js internals this front relies on (see {@link connectExternalBroker}). */
interface ClientInternals {
  _sendPacket(packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]): void;
}

interface AckSlot {
  epoch: number;
  error: number | null;
  release: (() => void) | null;
}

/**
 * Makes the runtime an MQTT client of an external broker (mosquitto, EMQX, nats-server).
 *
 * Acknowledge-after-commit needs the PUBACK to wait for the commit without stalling the
 * connection. mqtt.js handles incoming packets one at a time and only reads on after the
 * PUBACK of the current one is sent (with `customHandleAcks` as well), which would cap a
 * runtime at one event per commit. So the front takes each PUBLISH in `handleMessage`,
 * lets mqtt.js move on at once, and holds back the PUBACK packet it then writes until the
 * event is committed (a narrow wrap of mqtt.js' `_sendPacket`, tested by the QoS 1
 * kill-and-restart test). PUBACKs leave in PUBLISH order because commits complete in order.
 * Held PUBACKs of a connection that dropped are discarded: the broker redelivers those
 * messages on the resumed session, and source+id dedupe makes the redelivery harmless.
 * A commit that fails for a retryable reason drops the connection for the same effect.
 *
 * @example
 * ```ts
 * const ext = await connectExternalBroker({ url: 'mqtt://127.0.0.1:1883', subscription: '$share/tf/org/#' }, ingest, logger);
 * ```
 */
export async function connectExternalBroker(
  options: ExternalBrokerOptions,
  defaultSubscription: string,
  ingest: MqttIngest,
  log: Logger,
): Promise<ExternalBroker> {
  const version = options.protocolVersion ?? 5;
  const clientOptions: IClientOptions = {
    clientId: options.clientId ?? `twinflow-${hostname()}`,
    protocolVersion: version,
    clean: false,
    reconnectPeriod: 1000,
    ...(version === 5 && { properties: { sessionExpiryInterval: options.sessionExpiry ?? 3600 } }),
  };
  // Plain readings are sourced `mqtt://broker:<host:port>`; past the event source limit every
  // one would be refused: say so at start instead.
  const host = new URL(options.url).host;
  const sender = `broker:${host}`;
  if (sender.length > MAX_CLIENT_ID_LENGTH)
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `the MQTT broker's host and port (${host.length} characters) would make its events' source longer than ${MAX_ID_LENGTH} characters; connect by a shorter name or an address`,
    );
  const client = connect(options.url, clientOptions);
  // Held PUBACKs go out as their commits land; with Nagle's algorithm each waited for the
  // broker to acknowledge the one before (see the embedded broker). Every connection's stream.
  client.on('connect', () => (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true));
  const held = new Map<number, AckSlot>();
  let epoch = 0;
  client.on('close', () => {
    epoch++;
    held.clear();
  });
  const shown = shownUrl(options.url);
  client.on('error', (err) => log.warn({ err: err.message, url: shown }, 'external MQTT broker error'));

  client.handleMessage = (packet: IPublishPacket, callback) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const msg = { topic: packet.topic, payload, properties: packet.properties };
    if (packet.qos === 0) return ingest.publish(msg, 0, sender, () => callback());
    const slot: AckSlot = { epoch, error: null, release: null };
    held.set(packet.messageId!, slot);
    ingest.publish(msg, packet.qos, sender, (error) => {
      if (error && reasonFor(error).retry) {
        if (slot.epoch === epoch) client.stream.destroy(); // no PUBACK: the broker redelivers after reconnect
        return;
      }
      slot.error = error ? reasonFor(error).code : 0;
      slot.release?.();
    });
    callback();
  };

  const internals = client as unknown as ClientInternals;
  const send = internals._sendPacket.bind(client);
  internals._sendPacket = (packet, cb, ...rest) => {
    const slot = packet.cmd === 'puback' ? held.get(packet.messageId!) : undefined;
    if (!slot) return send(packet, cb, ...rest);
    held.delete(packet.messageId!);
    const release = (): void => {
      if (slot.epoch !== epoch) return;
      send(version === 5 ? ({ ...packet, reasonCode: slot.error ?? 0 } as Packet) : packet, () => undefined);
    };
    if (slot.error !== null) release();
    else slot.release = release;
    cb?.(); // mqtt.js reads the next packet now; the PUBACK follows the commit
  };

  const subscription = options.subscription ?? defaultSubscription;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    // mqtt.js retries a refused connection forever without an 'error'; a node should not hang.
    const timer = setTimeout(() => fail(new Error(`could not connect to MQTT broker ${shown} within 10 s`)), 10_000);
    client.once('error', fail);
    client.once('connect', (connack) => {
      clearTimeout(timer);
      client.off('error', fail);
      // A resumed session keeps its subscription; subscribing again is harmless.
      client.subscribe(subscription, { qos: 1, ...(version === 5 && { nl: true }) }, (err) =>
        err ? reject(err) : resolve(),
      );
      log.info(
        { url: shown, subscription, sessionPresent: connack.sessionPresent },
        'connected to external MQTT broker',
      );
    });
  });
  client.on('connect', (connack) => {
    if (!connack.sessionPresent) client.subscribe(subscription, { qos: 1, ...(version === 5 && { nl: true }) });
  });

  return {
    client,
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) => {
        client.publish(
          topic,
          payload,
          { qos, ...(version === 5 && { properties: { contentType: CE_JSON } }) },
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    close: () => endWithin(client, CLOSE_GRACE_MS),
  };
}

/** How long a closing node waits for the broker to acknowledge the outputs in flight. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Ends the connection, waiting at most `graceMs` for the broker to acknowledge what is in
 * flight. mqtt.js' own graceful end (`end(false)`) waits for that without a bound, and a
 * second `end` returns at once without forcing anything, so a broker that stopped answering
 * (stopped, overloaded, a half-open connection) left `node.close()` and a SIGTERM'd
 * `twinflow serve` waiting for ever. Past the grace the connection is dropped (`end(true)`):
 * the broker keeps the session, and an unacknowledged output is what a crash would lose.
 */
async function endWithin(client: MqttClient, graceMs: number): Promise<void> {
  const inFlight = (): boolean => Object.keys(client.outgoing).length > 0;
  if (inFlight()) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onEmpty: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      client.once('outgoingEmpty', (onEmpty = resolve));
    });
    clearTimeout(timer);
    client.off('outgoingEmpty', onEmpty!);
  }
  await new Promise<void>((resolve) => client.end(inFlight(), {}, () => resolve()));
}
