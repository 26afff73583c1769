import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import mqttPacket, {
  type IConnectPacket,
  type IPublishPacket,
  type ISubscribePacket,
  type IUnsubscribePacket,
  type Packet,
} from 'mqtt-packet';
import type { Rejections } from '../rejections.js';
import type { IngestQueue } from './ingest-queue.js';
import { reasonFor, ReasonCode, type MqttIngest } from './mqtt-ingest.js';
import { serverKeepAlive, type MqttSessionLimits } from './keepalive.js';
import { GrantSet } from '../../access/path-grants.js';
import { mqttCredential, type MqttAccess, type MqttGrants } from '../auth/mqtt-access.js';
import { rateKeyOf, type IngestQuota } from './ingest-quota.js';
import { TwinError } from '../../errors.js';
import { clientText, MAX_CLIENT_ID_LENGTH, topicFilterError } from './mqtt-message.js';

type Deliver = Parameters<Aedes['subscribe']>[1];

/** MQTT 5 DISCONNECT / SUBACK reason codes this session uses. */
const PROTOCOL_ERROR = 0x82;
const QOS_NOT_SUPPORTED = 0x9b;
const SHARED_NOT_SUPPORTED = 0x9e;
const TOPIC_ALIAS_INVALID = 0x94;
const KEEP_ALIVE_TIMEOUT = 0x8d;
const RETAIN_NOT_SUPPORTED = 0x9a;
const BAD_USER_NAME_OR_PASSWORD = 0x86;
const NOT_AUTHORIZED = 0x87;
const ADMINISTRATIVE_ACTION = 0x98;
const CLIENT_IDENTIFIER_NOT_VALID = 0x85;
const TOPIC_FILTER_INVALID = 0x8f;
const TOPIC_ALIAS_MAX = 64;

/**
 * One MQTT 5 client of the embedded broker.
 *
 * aedes speaks MQTT 3.1/3.1.1 only, yet MQTT 5 is what lets a device learn *why* a
 * PUBLISH was refused (PUBACK reason codes) and send CloudEvents in binary mode (user
 * properties, content type). So the embedded broker hands MQTT 5 connections to this
 * small session instead: it ingests PUBLISH (QoS 0 and 1) with the same MqttIngest as
 * aedes and answers PUBACK after commit with a reason code and reason string, forwards
 * accepted messages into aedes so every subscriber sees them, and serves SUBSCRIBE
 * through aedes' matcher. Deliberately small: clean sessions only, deliveries at QoS 0,
 * no shared subscriptions or retained messages, inbound topic aliases up to 64.
 *
 * It reads and writes through its {@link MqttWire}, which enforces the Maximum Packet
 * Size and Receive Maximum this session advertises in CONNACK, and drops deliveries (QoS 0
 * allows it) to a client that does not take them once `maxWriteBufferBytes` wait. A keep
 * alive of 0 or above `maxKeepaliveSeconds` is replaced by that maximum, sent as Server
 * Keep Alive in CONNACK (MQTT 5 §3.2.2.3.14), so no connection is idle forever.
 * A PUBLISH over the sender's ingest rate is refused: QoS 1 with PUBACK 0x97 (Quota
 * exceeded, in order with the other PUBACKs), QoS 0 dropped; either way it is counted and
 * reaches no twin.
 *
 * Whatever a client sends must not make the session throw out of its handlers (the node
 * would die: see {@link guarded}). Every topic filter is checked ({@link topicFilterError})
 * before it reaches aedes: an invalid one gets SUBACK / UNSUBACK 0x8F (Topic Filter invalid)
 * while the others of the packet are served, and only filters aedes took are recorded, so
 * the cleanup unsubscribes nothing aedes refuses. A client id longer than
 * {@link MAX_CLIENT_ID_LENGTH} gets CONNACK 0x85 (its readings' source would be refused).
 */
export class Mqtt5Session {
  private clientId = '';
  private connected = false;
  private readonly aliases = new Map<number, string>();
  private readonly subscriptions = new Map<string, Deliver>();
  private keepaliveMs = 0;
  private lastSeen = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** What this client may do (undefined on a node without access rules). */
  private grants: MqttGrants | undefined;
  /** Packets that arrived while CONNECT's credential was being checked, handled after it in order. */
  private held: Packet[] | null = null;

  constructor(
    private readonly socket: Duplex,
    private readonly broker: Aedes,
    private readonly ingest: MqttIngest,
    private readonly queue: IngestQueue,
    private readonly limits: MqttSessionLimits,
    private readonly rejections: Rejections,
    private readonly access?: MqttAccess,
    /** The verified client certificate's common name (MQTTS), the credential of a CONNECT without user name and password. */
    private readonly certificateName?: string,
    private readonly quota?: IngestQuota,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p: Packet) => this.guarded(p));
    parser.on('error', (err: Error) => this.disconnect('protocol_error', PROTOCOL_ERROR, err.message));
    socket.on('data', (chunk: Buffer) => {
      this.lastSeen = Date.now();
      parser.parse(chunk);
    });
    socket.on('error', () => this.cleanup());
    socket.on('close', () => this.cleanup());
  }

  /**
   * Handles one packet; whatever handling it throws ends this connection, never the node.
   * The handlers run inside the socket's 'data' event, where a throw is an uncaught
   * exception: a SUBSCRIBE with no topic filters once made the SUBACK encoder throw and
   * took the whole process down (found by test/fuzz/mqtt-front.fuzz.test.ts).
   */
  private guarded(p: Packet): void {
    try {
      this.onPacket(p);
    } catch (err) {
      this.disconnect('protocol_error', PROTOCOL_ERROR, `cannot handle ${p.cmd}: ${(err as Error).message}`);
    }
  }

  private onPacket(p: Packet): void {
    if (this.closed) return;
    if (this.held) {
      // Bounded: the socket is paused while CONNECT is checked, so only what one read held can wait.
      this.held.push(p);
      return;
    }
    if (!this.connected && p.cmd !== 'connect')
      return this.disconnect('protocol_error', PROTOCOL_ERROR, 'CONNECT expected');
    switch (p.cmd) {
      case 'connect':
        return this.onConnect(p);
      case 'publish':
        return this.onPublish(p);
      case 'subscribe':
        return this.onSubscribe(p);
      case 'unsubscribe':
        return this.onUnsubscribe(p);
      case 'pingreq':
        return this.send({ cmd: 'pingresp' });
      case 'disconnect':
        return void this.socket.end();
      case 'puback':
        return; // deliveries are QoS 0; nothing to track
      default:
        return this.disconnect('protocol_error', PROTOCOL_ERROR, `unexpected ${p.cmd}`);
    }
  }

  private onConnect(p: IConnectPacket): void {
    if (this.connected) return this.disconnect('protocol_error', PROTOCOL_ERROR, 'second CONNECT');
    if (p.clientId.length > MAX_CLIENT_ID_LENGTH) return this.refuseClientId(p);
    this.connected = true;
    const assigned = p.clientId ? undefined : `tf5_${randomUUID()}`;
    this.clientId = p.clientId || assigned!;
    const access = this.access;
    if (!access?.enabled) return this.accept(p, assigned);
    this.held = [];
    this.socket.pause();
    access
      .connect(this, this.clientId, mqttCredential(p.username, p.password, this.certificateName), () =>
        this.disconnect('revoked', ADMINISTRATIVE_ACTION, 'credentials revoked or expired'),
      )
      .then(
        (g) => {
          if (this.closed) return access.forget(this);
          this.grants = g;
          this.accept(p, assigned);
          const held = this.held ?? [];
          this.held = null;
          this.socket.resume();
          for (const h of held) this.onPacket(h);
        },
        (err: unknown) => {
          this.held = null;
          this.rejections.note(
            'mqtt.unauthenticated',
            { clientId: this.clientId, reason: (err as Error).message },
            'MQTT CONNECT refused: bad user name or password',
          );
          this.send({ cmd: 'connack', sessionPresent: false, reasonCode: BAD_USER_NAME_OR_PASSWORD });
          this.socket.end();
          this.cleanup();
        },
      );
  }

  /** CONNACK 0x85: every plain reading of this client would be refused (its source `mqtt://<id>` too long). */
  private refuseClientId(p: IConnectPacket): void {
    const reason = `client identifier of ${p.clientId.length} characters: at most ${MAX_CLIENT_ID_LENGTH}`;
    this.rejections.note(
      'mqtt.client_id_too_long',
      { clientId: clientText(p.clientId), length: p.clientId.length, limit: MAX_CLIENT_ID_LENGTH },
      'MQTT 5 CONNECT refused: client identifier too long (CONNACK 0x85)',
    );
    // MQTT 5 §3.2.2.3.9: no reason string that would exceed the client's Maximum Packet Size.
    const roomy = (p.properties?.maximumPacketSize ?? Infinity) >= 256;
    this.send({
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: CLIENT_IDENTIFIER_NOT_VALID,
      ...(roomy && { properties: { reasonString: reason } }),
    });
    this.socket.end();
    this.cleanup();
  }

  private accept(p: IConnectPacket, assigned: string | undefined): void {
    const keepalive = serverKeepAlive(p.keepalive ?? 0, this.limits.maxKeepaliveSeconds);
    this.keepaliveMs = keepalive * 1000;
    // Checked 4 times per keep alive (at most every 30 s): closed between 1.5 and 1.75 times it.
    this.timer = setInterval(
      () => {
        if (Date.now() - this.lastSeen > this.keepaliveMs * 1.5)
          this.disconnect(
            'keepalive_timeout',
            KEEP_ALIVE_TIMEOUT,
            `no packet within 1.5 times the keep alive of ${keepalive} s`,
          );
      },
      Math.min(this.keepaliveMs / 4, 30_000),
    );
    this.timer.unref();
    this.send({
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: 0,
      properties: {
        maximumQoS: 1,
        retainAvailable: false,
        sharedSubscriptionAvailable: false,
        topicAliasMaximum: TOPIC_ALIAS_MAX,
        maximumPacketSize: this.limits.maxPacketBytes,
        receiveMaximum: this.limits.maxInflight,
        ...(keepalive !== p.keepalive && { serverKeepAlive: keepalive }),
        ...(assigned !== undefined && { assignedClientIdentifier: assigned }),
      },
    });
  }

  private onPublish(p: IPublishPacket): void {
    if (p.qos === 2)
      return this.disconnect('qos_not_supported', QOS_NOT_SUPPORTED, 'QoS 2 is not supported (maximum QoS 1)');
    // MQTT 5 §3.3.1.3: CONNACK said Retain Available = 0, so a retained PUBLISH is a protocol error.
    if (p.retain) return this.disconnect('retain_not_supported', RETAIN_NOT_SUPPORTED, 'Retain not supported');
    let topic = p.topic;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias < 1 || alias > TOPIC_ALIAS_MAX)
        return this.disconnect('topic_alias_invalid', TOPIC_ALIAS_INVALID, `topic alias ${alias} out of range`);
      if (topic.length > 0) this.aliases.set(alias, topic);
      else topic = this.aliases.get(alias) ?? '';
      if (topic.length === 0) return this.disconnect('protocol_error', PROTOCOL_ERROR, `unknown topic alias ${alias}`);
    }
    if (this.overRate(p, topic)) return;
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    const msg = { topic, payload, properties: p.properties };
    if (this.access?.enabled && !this.ingest.namesTwin(topic)) {
      // Not a twin's topic: signals and device commands are the node's to publish.
      const denied = this.grants ? this.access.outputPublishError(this.grants, topic) : true;
      if (denied) {
        this.rejections.note(
          'mqtt.forbidden',
          { clientId: this.clientId, topic },
          'MQTT PUBLISH refused: topics that name no twin (signals, commands) need the admin right',
        );
        if (p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId, reasonCode: NOT_AUTHORIZED });
        return;
      }
    }
    if (this.queue.full) {
      // Stop reading until the runtime catches up: the publisher meets TCP backpressure.
      this.socket.pause();
      this.queue.whenNotFull(() => this.socket.resume());
    }
    this.ingest.publish(
      msg,
      p.qos,
      this.clientId,
      (error) => {
        if (p.qos === 1) {
          const reason = error ? reasonFor(error) : null;
          this.send({
            cmd: 'puback',
            messageId: p.messageId,
            reasonCode: reason?.code ?? 0,
            ...(error && { properties: { reasonString: `${error.code}: ${error.message}`.slice(0, 512) } }),
          });
        }
        if (!error)
          this.broker.publish(
            { cmd: 'publish', topic, payload, qos: p.qos, retain: false, dup: false },
            () => undefined,
          );
      },
      this.grants?.grants ?? (this.access?.enabled ? GrantSet.NONE : undefined),
    );
  }

  /** True (and answered) when the PUBLISH is over the sender's rate: every PUBLISH counts, whatever its topic. */
  private overRate(p: IPublishPacket, topic: string): boolean {
    const principal = this.grants?.principal;
    const own = principal?.rate;
    if (!this.quota || this.quota.rateOf(own) === undefined) return false;
    const wait = this.quota.take(rateKeyOf({ principal, clientId: this.clientId }), 1, own);
    if (wait === 0) return false;
    this.quota.limited('mqtt');
    this.rejections.note(
      'mqtt.rate_limited',
      { clientId: this.clientId, topic, qos: p.qos, retryAfterMs: wait },
      `MQTT 5 PUBLISH refused: the sender is over its ingest rate (${p.qos === 1 ? 'PUBACK 0x97' : 'QoS 0 dropped'})`,
    );
    if (p.qos === 1) {
      const rate = this.quota.rateOf(own)!;
      const error = new TwinError(
        'TWIN_RATE_LIMITED',
        `over the ingest rate of ${rate.eventsPerSecond} events/s (burst ${rate.burst}); retry in ${wait} ms`,
      );
      // After the PUBACKs of earlier PUBLISH still waiting for their commit (MQTT 5 §4.6: in order).
      this.queue.pushRefused(error, () =>
        this.send({
          cmd: 'puback',
          messageId: p.messageId,
          reasonCode: ReasonCode.QUOTA_EXCEEDED,
          properties: { reasonString: `${error.code}: ${error.message}` },
        }),
      );
    }
    return true;
  }

  private onSubscribe(p: ISubscribePacket): void {
    if (p.subscriptions.length === 0)
      return this.disconnect('protocol_error', PROTOCOL_ERROR, 'SUBSCRIBE without a topic filter (MQTT 5 §3.8.3)');
    const granted: number[] = [];
    for (const s of p.subscriptions) {
      const invalid = topicFilterError(s.topic);
      if (invalid !== null) {
        this.filterRefused('SUBSCRIBE', s.topic, invalid);
        granted.push(TOPIC_FILTER_INVALID);
        continue;
      }
      if (s.topic.startsWith('$share/')) {
        granted.push(SHARED_NOT_SUPPORTED);
        continue;
      }
      if (this.access?.enabled && (!this.grants || this.access.subscribeError(this.grants, s.topic))) {
        this.rejections.note(
          'mqtt.forbidden',
          { clientId: this.clientId, topic: s.topic },
          'MQTT SUBSCRIBE refused: no read right there',
        );
        granted.push(NOT_AUTHORIZED);
        continue;
      }
      if (!this.subscriptions.has(s.topic)) {
        // The wire drops it if this client has too much not yet taken (see MqttWire), and never makes the publish wait.
        const deliver: Deliver = (packet, cb) => {
          // A `#` subscriber gets only what its principal may read (checked per topic, cached).
          if (this.access?.enabled && !this.access.mayDeliver(this.grants, packet.topic)) return cb();
          this.send({
            cmd: 'publish',
            topic: packet.topic,
            payload: packet.payload,
            qos: 0,
            retain: false,
            dup: false,
          });
          cb();
        };
        // Recorded only once aedes took it: the cleanup must not unsubscribe what it refused.
        const failed = this.subscribeToBroker(s.topic, deliver);
        if (failed !== null) {
          this.filterRefused('SUBSCRIBE', s.topic, failed);
          granted.push(TOPIC_FILTER_INVALID);
          continue;
        }
        this.subscriptions.set(s.topic, deliver);
      }
      granted.push(0);
    }
    this.send({ cmd: 'suback', messageId: p.messageId!, granted });
  }

  private onUnsubscribe(p: IUnsubscribePacket): void {
    if (p.unsubscriptions.length === 0)
      return this.disconnect('protocol_error', PROTOCOL_ERROR, 'UNSUBSCRIBE without a topic filter (MQTT 5 §3.10.3)');
    const granted = p.unsubscriptions.map((topic) => {
      const invalid = topicFilterError(topic);
      if (invalid === null) return this.unsubscribe(topic) ? 0 : TOPIC_FILTER_INVALID;
      this.filterRefused('UNSUBSCRIBE', topic, invalid);
      return TOPIC_FILTER_INVALID;
    });
    this.send({ cmd: 'unsuback', messageId: p.messageId!, granted });
  }

  /** Subscribes `deliver` in aedes; the reason when aedes refused the filter (null when it took it). */
  private subscribeToBroker(topic: string, deliver: Deliver): string | null {
    let refused: string | null = null;
    try {
      // aedes answers some refusals through the callback at once (too many levels), others by throwing.
      this.broker.subscribe(topic, deliver, (err?: Error | null) => void (err && (refused ??= err.message)));
    } catch (err) {
      refused = (err as Error).message;
    }
    return refused;
  }

  /**
   * Drops this session's subscription to `topic` (if any). Never throws: it runs in the
   * cleanup of a closing connection too, outside {@link guarded}. False if aedes refused.
   */
  private unsubscribe(topic: string): boolean {
    const deliver = this.subscriptions.get(topic);
    if (!deliver) return true;
    this.subscriptions.delete(topic);
    try {
      this.broker.unsubscribe(topic, deliver, () => undefined);
      return true;
    } catch (err) {
      this.filterRefused('UNSUBSCRIBE', topic, (err as Error).message);
      return false;
    }
  }

  /** Counts a topic filter refused with 0x8F (logged at a bounded rate, never per packet). */
  private filterRefused(packet: 'SUBSCRIBE' | 'UNSUBSCRIBE', topic: string, reason: string): void {
    this.rejections.note(
      'mqtt.topic_filter_invalid',
      { clientId: this.clientId, topic: clientText(topic), reason },
      `MQTT 5 ${packet} topic filter refused (0x8F Topic Filter invalid)`,
    );
  }

  /**
   * Writes one packet. Also called from commit and delivery callbacks, outside {@link guarded}:
   * a packet mqtt-packet refuses to encode (it throws) ends this connection, not the node.
   */
  private send(packet: Packet): void {
    if (this.closed || this.socket.destroyed) return;
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet, { protocolVersion: 5 });
    } catch (err) {
      this.rejections.note(
        'mqtt.protocol_error',
        { clientId: this.clientId, reason: `cannot encode ${packet.cmd}: ${(err as Error).message}` },
        'MQTT 5 session closed',
      );
      this.socket.destroy();
      this.cleanup();
      return;
    }
    this.socket.write(bytes);
  }

  /** Closes the connection for something the client did: counted and logged at a bounded rate (a client can repeat it at will). */
  private disconnect(kind: string, reasonCode: number, reason: string): void {
    if (this.closed) return;
    this.rejections.note(
      `mqtt.${kind}`,
      { clientId: this.clientId, reasonCode, reason },
      'MQTT 5 session disconnected',
    );
    if (this.connected) this.send({ cmd: 'disconnect', reasonCode, properties: { reasonString: reason } });
    this.socket.end();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.access?.forget(this);
    for (const topic of [...this.subscriptions.keys()]) this.unsubscribe(topic);
  }
}
