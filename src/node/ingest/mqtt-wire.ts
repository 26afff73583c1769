import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { Rejections } from '../rejections.js';
import { FilterUtf8Marker } from './mqtt-filter-utf8.js';
import { MqttFramer, PacketType, type FrameFault } from './mqtt-framer.js';

/** The per-connection bounds of the embedded broker (see {@link MqttWire}). */
export interface MqttWireLimits {
  /** Largest MQTT packet (fixed header included) a client may send. */
  maxPacketBytes: number;
  /** Time from accept until the CONNECT packet is complete. */
  connectTimeoutMs: number;
  /** QoS 1 PUBLISH packets of one connection awaiting their PUBACK (MQTT 5 Receive Maximum). */
  maxInflight: number;
  /**
   * Bytes written to the client and not yet taken by it past which its socket is no longer
   * read and messages to it (PUBLISH from the server) are dropped.
   */
  maxWriteBufferBytes: number;
}

/** MQTT 5 DISCONNECT reason codes of the wire's refusals. */
const MALFORMED_PACKET = 0x81;
const PROTOCOL_ERROR = 0x82;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;
const PACKET_TOO_LARGE = 0x95;
const QUOTA_EXCEEDED = 0x97;

/** How long a refused client gets to take its DISCONNECT before the socket is destroyed. */
const LINGER_MS = 1000;

/**
 * The bytes between one client socket and its MQTT session (aedes for 3.1/3.1.1,
 * {@link Mqtt5Session} for 5): the one place every embedded-broker connection's bounds
 * are enforced, for both protocol levels, before any packet is buffered.
 *
 * mqtt-packet's parser (used by aedes and the MQTT 5 session) buffers a packet until it is
 * complete, whatever size its header announces; aedes waits for CONNECT only once it has
 * the socket. So the wire follows packet boundaries itself ({@link MqttFramer}) and
 * closes the connection (MQTT 5: DISCONNECT with a reason code) as soon as:
 * - a fixed header announces a packet over `maxPacketBytes` (0x95), before its body is read;
 * - a PUBLISH topic is not well-formed UTF-8 or contains U+0000 (0x81, MQTT §1.5.4);
 *   a SUBSCRIBE or UNSUBSCRIBE topic filter that is not is marked instead ({@link FilterUtf8Marker}),
 *   for the session to refuse that filter alone (0x8F, 3.1.1 0x80);
 * - the first packet is not CONNECT (0x82), or CONNECT is not complete within `connectTimeoutMs`;
 * - an MQTT 5 client sends more unacknowledged QoS 1 PUBLISH than its Receive Maximum (0x93).
 * It stops reading the socket while `maxInflight` QoS 1 PUBLISH await their PUBACK (it
 * counts PUBACKs as the session writes them) or while more than `maxWriteBufferBytes`
 * wait to be taken by the client, so a client that floods and never reads meets TCP
 * backpressure instead of growing server memory.
 *
 * Writes never wait for the client: the session's write completes at once, and a PUBLISH
 * to a client with more than `maxWriteBufferBytes` not yet taken is dropped whole (counted
 * as `mqtt.delivery_dropped`; at QoS 1 the connection is closed too). A publish reaches every subscriber through one mqemitter
 * emit that completes (and, for QoS 1, is acknowledged to its publisher) only when every
 * delivery has called back, so one subscriber that does not read must not hold a delivery:
 * it would stall every publish on the node (aedes waits for 'drain' up to its drainTimeout).
 * What the wire writes is thus bounded by `maxWriteBufferBytes` plus one packet, plus the
 * answers to what was read before reading stopped.
 *
 * Every refusal is counted through {@link Rejections} (`mqtt.<kind>`), never logged per event.
 *
 * @example
 * ```ts
 * new MqttWire(socket, limits, rejections, (level, stream) => level === 5 ? new Mqtt5Session(stream, …) : aedes.handle(stream));
 * ```
 */
export class MqttWire {
  /** What the session reads packets from and writes packets to. */
  readonly stream: Duplex;
  /** The client's protocol level, from its CONNECT (undefined until seen). */
  private level: number | undefined;
  private head: Buffer | null = Buffer.alloc(0);
  private packets = 0;
  private inflight = 0;
  private connackSent = false;
  private downstreamFull = false;
  private refused = false;
  private connectTimer: NodeJS.Timeout | null;
  /** Writes of this tick are being gathered (see {@link write}). */
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  private readonly inbound: MqttFramer;
  private readonly outbound: MqttFramer;
  /** Marks the ill-formed filters of the SUBSCRIBE / UNSUBSCRIBE coming in, if one is. */
  private filters: FilterUtf8Marker | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly limits: MqttWireLimits,
    private readonly rejections: Rejections,
    private readonly attach: (level: number | undefined, stream: Duplex) => void,
  ) {
    this.inbound = new MqttFramer(true, {
      started: (type, _flags, bytes) => this.started(type, bytes),
      topic: (topic) =>
        isUtf8(topic) && !topic.includes(0)
          ? null
          : { kind: 'topic_invalid', message: 'PUBLISH topic is not well-formed UTF-8 (MQTT 1.5.4)' },
      body: (chunk, from, to) => this.filters?.walk(chunk, from, to),
      ended: (type, flags) => this.ended(type, flags),
    });
    this.outbound = new MqttFramer(false, {
      skip: (type, flags) => type === PacketType.PUBLISH && this.congested((flags >> 1) & 3),
      ended: (type) => {
        if (type === PacketType.CONNACK) this.connackSent = true;
        else if (type === PacketType.PUBACK && this.inflight > 0) {
          this.inflight--;
          this.updateFlow();
        }
      },
    });
    this.stream = new Duplex({
      read: () => {
        this.downstreamFull = false;
        this.updateFlow();
      },
      write: (chunk: Buffer, _enc, done) => this.write(chunk, done),
      final: (done) => {
        socket.end();
        done();
      },
      destroy: (err, done) => {
        socket.destroy();
        done(err);
      },
    });
    this.connectTimer = setTimeout(
      () => this.refuse('connect_timeout', PROTOCOL_ERROR, `no complete CONNECT within ${limits.connectTimeoutMs} ms`),
      limits.connectTimeoutMs,
    );
    this.connectTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The client took what was waiting: read it again.
    socket.on('drain', () => this.updateFlow());
    socket.on('end', () => this.stream.push(null));
    // A socket error ends the session like a close does; the session need not see the error itself.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.clearConnectTimer();
      if (!this.stream.destroyed) this.stream.destroy();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.refused) return;
    // The scan walks SUBSCRIBE filters by the protocol level: know it for one in the chunk that ends CONNECT.
    if (this.head !== null && this.level === undefined) this.level = protocolLevel(Buffer.concat([this.head, chunk]));
    const fault = this.inbound.scan(chunk);
    if (fault) return this.fault(fault);
    if (this.refused) return; // refused by a packet event (receive maximum)
    if (this.head === null) return this.forward(chunk);
    // Before the session exists: hold the first bytes until CONNECT shows its protocol level.
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    this.level = protocolLevel(this.head);
    if (this.level === undefined && this.head.length < 64) return;
    const head = this.head;
    this.head = null;
    this.attach(this.level, this.stream);
    this.forward(head);
  }

  private forward(chunk: Buffer): void {
    if (!this.stream.push(chunk)) {
      this.downstreamFull = true;
      this.updateFlow();
    }
  }

  /** Never waits for the client (see the class comment); past the bound PUBLISH packets are dropped by {@link congested}. */
  private write(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.socket.destroyed) return done(new Error('connection closed'));
    if (this.refused) return done(); // closing: the client gets nothing more
    const kept = this.outbound.filter(chunk);
    if (this.refused) return done(); // a QoS 1 message was dropped: closing (see congested)
    if (kept.length > 0) {
      // The PUBACKs of a commit are written in one tick, one packet per call: corked until
      // the tick ends, they leave as one write (one syscall and few segments, not hundreds).
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      this.socket.write(kept);
    }
    done();
    this.updateFlow();
  }

  /**
   * True when a PUBLISH to this client is to be dropped: more than `maxWriteBufferBytes`
   * wait for it to take them. QoS 0 allows a message to be lost; a QoS 1 message must not
   * be while its (clean) session lasts, so that connection is closed: the client learns it
   * may have missed messages, and aedes holds nothing for it (its sessions are clean).
   */
  private congested(qos: number): boolean {
    const waiting = this.socket.writableLength;
    if (waiting <= this.limits.maxWriteBufferBytes) return false;
    const fields = { waiting, limit: this.limits.maxWriteBufferBytes, qos };
    if (qos > 0)
      this.refuse(
        'delivery_dropped',
        QUOTA_EXCEEDED,
        `a QoS 1 message to it could not be sent: ${waiting} bytes it has not taken`,
        fields,
      );
    else
      this.rejections.note(
        'mqtt.delivery_dropped',
        { ...this.who(), ...fields },
        'MQTT message to a client dropped: it does not take what is sent to it',
      );
    return true;
  }

  private who(): { remote: string; clientId: unknown } {
    return {
      remote: `${this.socket.remoteAddress}:${this.socket.remotePort}`,
      clientId: (this.stream as { client?: { id?: unknown } }).client?.id,
    };
  }

  private started(type: number, bytes: number): FrameFault | null {
    if (bytes > this.limits.maxPacketBytes) {
      return {
        kind: 'packet_too_large',
        bytes,
        message: `packet of ${bytes} bytes exceeds the maximum packet size of ${this.limits.maxPacketBytes}`,
      };
    }
    if (this.packets === 0 && type !== PacketType.CONNECT)
      return { kind: 'malformed', message: 'the first packet must be CONNECT' };
    this.filters =
      type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE
        ? new FilterUtf8Marker(type === PacketType.SUBSCRIBE, this.level === 5)
        : null;
    return null;
  }

  private ended(type: number, flags: number): void {
    this.packets++;
    if (type === PacketType.CONNECT) this.clearConnectTimer();
    else if (type === PacketType.PUBLISH && ((flags >> 1) & 3) === 1) {
      this.inflight++;
      if (this.level === 5 && this.inflight > this.limits.maxInflight) {
        return this.refuse(
          'receive_maximum_exceeded',
          RECEIVE_MAXIMUM_EXCEEDED,
          `more than the Receive Maximum of ${this.limits.maxInflight} QoS 1 PUBLISH awaiting PUBACK`,
        );
      }
      this.updateFlow();
    }
  }

  /**
   * Reads the socket only while its session keeps up, fewer than `maxInflight` QoS 1
   * PUBLISH await PUBACK, and the client takes what is written to it.
   */
  private updateFlow(): void {
    const stop =
      this.refused ||
      this.downstreamFull ||
      this.inflight >= this.limits.maxInflight ||
      this.socket.writableLength > this.limits.maxWriteBufferBytes;
    if (stop) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  private fault(f: FrameFault): void {
    const code =
      f.kind === 'packet_too_large'
        ? PACKET_TOO_LARGE
        : f.kind === 'topic_invalid'
          ? MALFORMED_PACKET
          : f.kind === 'malformed'
            ? MALFORMED_PACKET
            : PROTOCOL_ERROR;
    this.refuse(
      f.kind,
      code,
      f.message,
      f.bytes === undefined ? {} : { bytes: f.bytes, limit: this.limits.maxPacketBytes },
    );
  }

  /** Closes the connection for a reason the client caused: counted, logged at a bounded rate, MQTT 5 told why. */
  private refuse(kind: string, reasonCode: number, message: string, fields: Record<string, unknown> = {}): void {
    if (this.refused) return;
    this.refused = true;
    this.clearConnectTimer();
    this.rejections.note(
      `mqtt.${kind}`,
      { ...this.who(), reasonCode, ...fields },
      `MQTT connection closed: ${message}`,
    );
    this.socket.pause();
    if (this.level === 5 && this.connackSent && !this.socket.destroyed) {
      this.socket.write(
        mqttPacket.generate(
          { cmd: 'disconnect', reasonCode, properties: { reasonString: message } },
          { protocolVersion: 5 },
        ),
      );
    }
    this.socket.end();
    // A client that does not read would keep a half-closed socket (and its buffers) forever.
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }
}

/** The protocol level byte of a CONNECT packet, or undefined while incomplete (or not CONNECT). */
export function protocolLevel(b: Buffer): number | undefined {
  if (b.length < 2 || b[0] !== 0x10) return undefined;
  let i = 1;
  while (i < 5 && i < b.length && (b[i]! & 0x80) !== 0) i++;
  i++; // past the last remaining-length byte
  if (b.length < i + 2) return undefined;
  const nameLength = b.readUInt16BE(i);
  const at = i + 2 + nameLength;
  return at < b.length ? b[at] : undefined;
}
