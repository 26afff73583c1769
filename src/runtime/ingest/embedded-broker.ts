import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../logger.js';
import type { IngestQueue } from './ingest-queue.js';
import { reasonFor, type MqttIngest } from './mqtt-ingest.js';
import { Mqtt5Session } from './mqtt5-session.js';
import { listenError } from '../listen-error.js';

export interface EmbeddedBrokerOptions {
  /** Listen address (default 127.0.0.1: the zero-setup broker is not exposed by default). */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
}

/** The embedded MQTT broker of a node: what devices talk to when there is no other broker. */
export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  /** Publishes to every matching subscriber (outputs, device commands). */
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
  close(): Promise<void>;
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
 * MQTT 5 clients are detected from their CONNECT and served by {@link Mqtt5Session}.
 *
 * @example
 * ```ts
 * const broker = await startEmbeddedBroker({ port: 1883 }, ingest, queue, logger);
 * await broker.publish('org/contoso/site/berlin/signals/evacuation', payload, 1);
 * await broker.close();
 * ```
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions, ingest: MqttIngest, queue: IngestQueue, log: Logger): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({
    authorizePublish(client, packet, callback) {
      if (client === null) return callback(null);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      ingest.publish({ topic: packet.topic, payload }, packet.qos, client.id, (error) => {
        if (error && packet.qos > 0 && reasonFor(error).retry) return callback(error);
        callback(null);
      });
    },
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    dispatch(socket, (v5, head) => {
      socket.unshift(head);
      if (v5) new Mqtt5Session(socket, aedes, ingest, queue, log);
      else aedes.handle(socket);
    });
  });
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
  log.info({ port, address }, 'embedded MQTT broker listening');
  return {
    port,
    url: `mqtt://${address}:${port}`,
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) => aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) => (err ? reject(err) : resolve()))),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/**
 * Reads just enough of the first packet (CONNECT) to learn the protocol level, then
 * hands the untouched bytes on. Level 5 is MQTT 5; 3 and 4 are MQTT 3.1/3.1.1.
 */
function dispatch(socket: Socket, then: (v5: boolean, head: Buffer) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const level = protocolLevel(head);
    if (level === undefined && head.length < 64) return;
    socket.off('data', onData);
    socket.pause();
    then(level === 5, head);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
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
