import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from '../../logger.js';
import type { IngestQueue } from './ingest-queue.js';
import { reasonFor, type MqttIngest } from './mqtt-ingest.js';
import { Mqtt5Session } from './mqtt5-session.js';
import { MqttWire } from './mqtt-wire.js';
import { clientText, MAX_CLIENT_ID_LENGTH, topicFilterError } from './mqtt-message.js';
import { serverKeepAlive, type MqttSessionLimits } from './keepalive.js';
import type { Rejections } from '../rejections.js';
import { listenError } from '../listen-error.js';
import { GrantSet } from '../../access/path-grants.js';
import { mqttCredential, type MqttAccess, type MqttGrants } from '../auth/mqtt-access.js';
import { peerCommonName, secureContextOf, serverTlsOptions, type TlsOptions } from '../tls/tls-options.js';
import { IngestQuota, rateKeyOf } from './ingest-quota.js';
import { PublishThrottle } from './publish-throttle.js';

/** Inbound QoS 2 messages awaiting PUBREL that aedes keeps per connection (its default, named to be counted and documented). */
const QOS2_INFLIGHT = 1000;

/**
 * The errors of aedes' own topic filter check (`validateTopic`: empty, `#` or `+` misplaced),
 * which closes a 3.1.1 connection before `authorizeSubscribe` is asked.
 */
const AEDES_FILTER_REFUSED = /^(impossible to (UN)?SUBSCRIBE|[#+] is only allowed in (UN)?SUBSCRIBE)/;

export interface EmbeddedBrokerOptions {
  /** Listen address (default 127.0.0.1: the zero-setup broker is not exposed by default). */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Concurrent client connections; one more is closed at accept and counted (`mqtt.too_many_connections`). */
  maxConnections: number;
  /** Per-connection bounds (packet size, CONNECT timeout, unacknowledged QoS 1, write buffer, keep alive). */
  limits: MqttSessionLimits;
  /** Who may connect, publish and subscribe (default: everyone, everything). */
  access?: MqttAccess;
  /** Serve MQTTS only, with this certificate (and client certificates as it says). */
  tls?: TlsOptions;
  /** Ingest rate per sender (default: none): MQTT 3.1.1 publishers are slowed, MQTT 5 ones refused (0x97). */
  quota?: IngestQuota;
}

/** The embedded MQTT broker of a node: what devices talk to when there is no other broker. */
export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  // Closures (no `this`): callers may pass them on unbound.
  /** Publishes to every matching subscriber (outputs, device commands). */
  readonly publish: (topic: string, payload: Buffer, qos: 0 | 1) => Promise<void>;
  /** MQTTS: new connections use this certificate from now on (open ones keep theirs). */
  readonly setSecureContext: ((tls: TlsOptions) => void) | undefined;
  readonly close: () => Promise<void>;
}

/**
 * Tells aedes a held client is alive when one of its packets is let through. aedes times keep
 * alive from the packets it parses, and a throttled client's PINGREQs wait unread behind its
 * PUBLISH packets (its socket is not read): without this a client slowed for longer than 1.5
 * times its keep alive would be closed for our own backpressure. (aedes has no public call for
 * it; if the field is gone this does nothing, and a slowed client may time out.)
 */
function keptAlive(client: Client): void {
  const internal = client as unknown as { _keepaliveInterval?: number; _keepaliveTimer?: NodeJS.Timeout | null };
  if ((internal._keepaliveInterval ?? -1) > 0) internal._keepaliveTimer?.refresh();
}

/**
 * Starts aedes on a TCP port with ingestion wired into `authorizePublish`.
 *
 * aedes writes a QoS 1 PUBACK only after `authorizePublish` calls back, so calling back
 * after the event's commit is what makes a PUBACK mean "durable". aedes handles the
 * packets of one socket read together and reads on when all are answered, so the
 * commit is shared by a whole read (and the ingest queue's bound throttles publishers).
 * Bad input is acknowledged (MQTT 3.1.1 has no negative PUBACK, and a redelivered poison
 * message would loop forever) and dead-lettered; only "retry" failures (store down,
 * shutdown) withhold the PUBACK by closing the connection, so the client resends.
 * A publish completes (and is acknowledged) only when every subscriber's delivery has
 * called back, so deliveries never wait for a subscriber: {@link MqttWire} drops those to a
 * client that does not take them, and a publisher is never held by someone else's socket.
 * MQTT 5 clients are detected from their CONNECT and served by {@link Mqtt5Session}.
 * A 3.1.1 publisher over its ingest rate is slowed by a {@link PublishThrottle} (its
 * packets wait, in order, so aedes stops reading its socket): 3.1.1 has no "quota
 * exceeded", and a PUBACK for a message not ingested would claim durability.
 * A 3.1.1 client id longer than {@link MAX_CLIENT_ID_LENGTH} is refused at CONNECT (return
 * code 2, identifier rejected: its readings' source would be refused), and a topic filter
 * aedes' own check lets through but MQTT §4.7 forbids gets SUBACK 0x80 ({@link topicFilterError}).
 *
 * @example
 * ```ts
 * const broker = await startEmbeddedBroker({ port: 1883 }, ingest, queue, logger);
 * await broker.publish('org/contoso/site/berlin/signals/evacuation', payload, 1);
 * await broker.close();
 * ```
 */
export async function startEmbeddedBroker(
  options: EmbeddedBrokerOptions,
  ingest: MqttIngest,
  queue: IngestQueue,
  rejections: Rejections,
  log: Logger,
): Promise<EmbeddedBroker> {
  /**
   * Payloads ingest refused for the twin their topic names (malformed, too deep or large,
   * rejected by the model). MQTT 3.1.1 has no negative PUBACK, so aedes goes on to publish
   * what authorizePublish let through; these are not forwarded to subscribers (bad input
   * must not be amplified to every `#` subscriber). aedes' forwarded packet is a copy that
   * keeps the payload buffer, hence the buffer as the mark.
   */
  const refused = new WeakSet<object>();
  const access = options.access;
  /** What each authenticated 3.1.1 client may do (MQTT 5 sessions keep their own). */
  const grantsOf = new WeakMap<object, MqttGrants>();
  /** The verified client certificate's common name of each MQTTS connection (by the stream aedes reads). */
  const certificateNames = new WeakMap<object, string>();
  const quota = options.quota ?? new IngestQuota();
  /** Per 3.1.1 client over its rate: its packets waiting for tokens, in order. */
  const throttles = new WeakMap<object, PublishThrottle>();
  const throttleOf = (client: Client): PublishThrottle => {
    let t = throttles.get(client);
    if (!t) {
      t = new PublishThrottle(
        () => {
          // Read each time: a reload of the access file may change the principal's rate.
          const principal = grantsOf.get(client)?.principal;
          return quota.take(rateKeyOf({ principal, clientId: client.id }), 1, principal?.rate);
        },
        () => {
          quota.limited('mqtt');
          rejections.note(
            'mqtt.rate_limited',
            { clientId: client.id, held: throttles.get(client)?.held },
            'MQTT 3.1.1 PUBLISH held: the sender is over its ingest rate; its socket is not read until the rate allows',
          );
        },
      );
      throttles.set(client, t);
    }
    return t;
  };
  /** Ingests one PUBLISH of an authenticated 3.1.1 client (after its rate allowed it). */
  const authorize = (client: Client, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    // Retained messages are not kept (MQTT 5 clients are told so in CONNACK): devices send
    // readings, which a new subscriber has no use for, and aedes would hold each topic's
    // last one in memory forever, even one ingest refused, and replay it to every `#` subscriber.
    packet.retain = false;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const g = access?.enabled ? grantsOf.get(client) : undefined;
    if (access?.enabled && !ingest.namesTwin(packet.topic)) {
      // Not a twin's topic: signals and device commands are the node's to publish.
      const denied = g ? access.outputPublishError(g, packet.topic) : true;
      if (denied) {
        rejections.note(
          'mqtt.forbidden',
          { clientId: client.id, topic: packet.topic },
          'MQTT PUBLISH dropped: topics that name no twin (signals, commands) need the admin right',
        );
        // 3.1.1 has no negative PUBACK: acknowledged, never forwarded (see authorizeForward).
        packet.payload = payload;
        refused.add(payload);
        return callback(null);
      }
    }
    ingest.publish(
      { topic: packet.topic, payload },
      packet.qos,
      client.id,
      (error) => {
        if (error && packet.qos > 0 && reasonFor(error).retry) return callback(error);
        // A topic that names no twin is none of ingest's business: the broker stays a broker for it.
        if (error && ingest.namesTwin(packet.topic)) {
          packet.payload = payload;
          refused.add(payload);
        }
        callback(null);
      },
      g?.grants ?? (access?.enabled ? GrantSet.NONE : undefined),
    );
  };
  const aedes = await Aedes.createBroker({
    maxInflightInbound: QOS2_INFLIGHT,
    authorizeForward(client, packet) {
      if (typeof packet.payload === 'object' && refused.has(packet.payload)) return null;
      // A `#` subscriber gets only what its principal may read (checked per topic, cached per client).
      if (access?.enabled && !access.mayDeliver(grantsOf.get(client), packet.topic)) return null;
      return packet;
    },
    authenticate(client, username, password, callback) {
      // aedes asks this before it registers the client, with the client id of its CONNECT.
      if (client.id.length > MAX_CLIENT_ID_LENGTH) {
        rejections.note(
          'mqtt.client_id_too_long',
          { clientId: clientText(client.id), length: client.id.length, limit: MAX_CLIENT_ID_LENGTH },
          'MQTT CONNECT refused: client identifier too long (CONNACK return code 2)',
        );
        return callback(Object.assign(new Error('identifier rejected'), { returnCode: 2 as const }), false);
      }
      if (!access?.enabled) return callback(null, true);
      access
        .connect(client, client.id, mqttCredential(username, password, certificateNames.get(client.conn)), () =>
          client.close(),
        )
        .then(
          (g) => {
            grantsOf.set(client, g);
            callback(null, true);
          },
          (err: unknown) => {
            rejections.note(
              'mqtt.unauthenticated',
              { clientId: client.id, reason: (err as Error).message },
              'MQTT CONNECT refused: bad user name or password',
            );
            callback(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
          },
        );
    },
    authorizeSubscribe(client, sub, callback) {
      const invalid = topicFilterError(sub.topic);
      if (invalid !== null) {
        rejections.note(
          'mqtt.topic_filter_invalid',
          { clientId: client.id, topic: clientText(sub.topic), reason: invalid },
          'MQTT SUBSCRIBE topic filter refused (SUBACK 0x80)',
        );
        return callback(null, null); // SUBACK 0x80 (failure), MQTT 3.1.1 §3.9.3
      }
      const g = grantsOf.get(client);
      const denied = access?.enabled ? (g ? access.subscribeError(g, sub.topic) : true) : undefined;
      if (!denied) return callback(null, sub);
      rejections.note(
        'mqtt.forbidden',
        { clientId: client.id, topic: sub.topic },
        'MQTT SUBSCRIBE refused: no read right there',
      );
      callback(null, null); // SUBACK 0x80 (failure), MQTT 3.1.1 §3.9.3
    },
    // The wire times CONNECT from accept; aedes' own timer (from when it gets the socket) is a backstop.
    connectTimeout: options.limits.connectTimeoutMs,
    /**
     * No session state outlives a connection, as in the MQTT 5 sessions: aedes' in-memory
     * persistence would queue QoS 1 messages for an offline client without bound (and
     * forever for a client id that never returns). A 3.1.1 client asking for a persistent
     * session gets session present = 0, which tells it to subscribe again.
     */
    preConnect(_client, packet, callback) {
      packet.clean = true;
      // MQTT 3.1.1 cannot tell a client its keep alive was changed, but a client that sends
      // nothing for 1.5 times it is closed (aedes times it from this packet) whatever it asked:
      // keep alive 0 must not let idle sockets hold the connection cap forever.
      packet.keepalive = serverKeepAlive(packet.keepalive ?? 0, options.limits.maxKeepaliveSeconds);
      callback(null, true);
    },
    authorizePublish(client, packet, callback) {
      if (client === null) return callback(null);
      // Every PUBLISH counts toward the sender's rate, whatever its topic or payload.
      // (Packets already held, e.g. before a reload lifted the rate, are not overtaken.)
      const unlimited = quota.rateOf(grantsOf.get(client)?.principal.rate) === undefined;
      if (unlimited && !throttles.get(client)?.held) return authorize(client, packet, callback);
      throttleOf(client).admit(() => {
        keptAlive(client);
        authorize(client, packet, callback);
      });
    },
  });
  aedes.on('clientDisconnect', (client) => {
    access?.forget(client);
    throttles.get(client)?.close();
  });
  // aedes keeps each inbound QoS 2 message until its PUBREL, at most QOS2_INFLIGHT
  // per connection, and past it drops the connection (3.1.1 has no reason code). It reports
  // that once per packet still queued: count the client once, like the wire's refusals.
  const qos2Refused = new WeakSet<object>();
  aedes.on('clientError', (client, err) => {
    log.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
    if (AEDES_FILTER_REFUSED.test(err.message)) {
      // Refused by aedes before authorizeSubscribe: the connection is closed (3.1.1 §4.8), once.
      return rejections.note(
        'mqtt.topic_filter_invalid',
        { clientId: client.id, reason: err.message },
        'MQTT connection closed: invalid topic filter',
      );
    }
    if (!err.message.startsWith('maxInflightInbound exceeded') || qos2Refused.has(client)) return;
    qos2Refused.add(client);
    rejections.note(
      'mqtt.qos2_inflight_exceeded',
      { clientId: client.id, limit: QOS2_INFLIGHT },
      `MQTT connection closed: more than ${QOS2_INFLIGHT} QoS 2 PUBLISH awaiting PUBREL`,
    );
  });
  aedes.on('keepaliveTimeout', (client) =>
    rejections.note(
      'mqtt.keepalive_timeout',
      { clientId: client.id },
      'MQTT connection closed: no packet within 1.5 times its keep alive',
    ),
  );

  const sockets = new Set<Socket>();
  const serve = (socket: Socket): void => {
    const certificateName = peerCommonName(socket);
    new MqttWire(socket, options.limits, rejections, (level, stream) => {
      if (level === 5)
        new Mqtt5Session(stream, aedes, ingest, queue, options.limits, rejections, access, certificateName, quota);
      else {
        if (certificateName !== undefined) certificateNames.set(stream, certificateName);
        aedes.handle(stream);
      }
    });
  };
  // MQTTS: the handshake must end within the CONNECT timeout too, or a silent client would hold a slot.
  const server: Server = options.tls
    ? createTlsServer({ ...serverTlsOptions(options.tls), handshakeTimeout: options.limits.connectTimeoutMs }, serve)
    : createServer(serve);
  // Every TCP socket (a TLS one from accept, before its handshake), so close() ends them all.
  server.on('connection', (socket: Socket) => {
    // Nagle's algorithm held each PUBACK until the client acknowledged the one before, which
    // its delayed ACK puts off by up to 40 ms: a QoS 1 publisher with messages in flight got
    // ~10 k/s whatever the node could take (bench/README, "ingest"). MqttWire writes what
    // one tick answers in one write, so this costs no extra segments.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A plain-TCP client, a failed handshake or a refused client certificate: counted, the socket closed.
  // With a listener here Node leaves the socket to it (a handshake timeout would otherwise stay open).
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    rejections.note(
      'mqtt.tls_error',
      { code: err.code, remote: socket.remoteAddress },
      `MQTTS connection refused: ${err.message}`,
    );
    socket.destroy();
  });
  // Past the cap Node closes the socket at accept (before any byte is read); we count it.
  server.maxConnections = options.maxConnections;
  server.on('drop', (d) =>
    rejections.note(
      'mqtt.too_many_connections',
      { remote: d ? `${d.remoteAddress}:${d.remotePort}` : undefined, limit: options.maxConnections },
      `MQTT connection refused: ${options.maxConnections} connections already open`,
    ),
  );
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => resolve());
    });
  } catch (err) {
    // aedes' heartbeat timer would keep the process alive: a node whose port is taken must exit.
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw listenError(err, 'MQTT', host, options.port, '--mqtt-port');
  }
  const { port, address } = server.address() as AddressInfo;
  log.info(
    { port, address, tls: options.tls !== undefined },
    `embedded MQTT broker listening (${options.tls ? 'MQTTS' : 'MQTT'})`,
  );
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${address}:${port}`,
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
    setSecureContext: options.tls
      ? (tls) => (server as ReturnType<typeof createTlsServer>).setSecureContext(secureContextOf(tls))
      : undefined,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
