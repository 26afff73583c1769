import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterEach, expect, test } from 'vitest';
import { MqttWire } from '../../src/node/ingest/mqtt-wire.js';
import { Rejections } from '../../src/node/rejections.js';

/**
 * The embedded broker answers through MqttWire. mqtt-packet writes a packet in pieces and
 * aedes writes one PUBACK per PUBLISH as the commit releases them; each piece used to go
 * to the socket as its own write, and with Nagle's algorithm a publisher with messages in
 * flight waited up to 40 ms per PUBACK (bench/README, "ingest"). What one tick writes must
 * reach the socket as one write.
 */
const LIMITS = { maxPacketBytes: 1 << 20, connectTimeoutMs: 5000, maxInflight: 1000, maxWriteBufferBytes: 1 << 20 };
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** A client connected to a socket read through MqttWire, past CONNECT: the session's stream. */
async function wiredPair(): Promise<{ server: Socket; stream: Duplex; client: Socket }> {
  const rejections = new Rejections(pino({ level: 'silent' }));
  let attach!: (pair: { server: Socket; stream: Duplex }) => void;
  const attached = new Promise<{ server: Socket; stream: Duplex }>((resolve) => (attach = resolve));
  const listener = createServer((server) => {
    new MqttWire(server, LIMITS, rejections, (_level, stream) => attach({ server, stream }));
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  closers.push(() => {
    client.destroy();
    listener.close();
  });
  client.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'w' }));
  return { ...(await attached), client };
}

test('the packets one tick writes to a client reach its socket as one write, and arrive whole', async () => {
  const { server, stream, client } = await wiredPair();
  let writes = 0;
  let chunks = 0;
  const socket = server as unknown as { _write: unknown; _writev: unknown };
  for (const name of ['_write', '_writev'] as const) {
    const real = socket[name] as (...args: unknown[]) => unknown;
    socket[name] = function (this: unknown, ...args: unknown[]) {
      writes++;
      if (name === '_writev') chunks += (args[0] as unknown[]).length;
      else chunks++;
      return real.apply(this, args);
    };
  }
  const received: Buffer[] = [];
  client.on('data', (b: Buffer) => received.push(b));

  // What a commit's release looks like: CONNACK, then 50 PUBACKs, written in one tick.
  mqttPacket.writeToStream({ cmd: 'connack', returnCode: 0, sessionPresent: false }, stream);
  for (let id = 1; id <= 50; id++) mqttPacket.writeToStream({ cmd: 'puback', messageId: id }, stream);

  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const acks: number[] = [];
  parser.on('packet', (p) => p.cmd === 'puback' && acks.push(p.messageId!));
  while (acks.length < 50) {
    if (received.length === 0) await once(client, 'data');
    parser.parse(Buffer.concat(received.splice(0)));
  }
  expect(acks).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(writes).toBe(1); // one writev of every piece, not one write per piece
  expect(chunks).toBeGreaterThan(50);
});

test('a later tick starts a new write, and the socket is not left corked', async () => {
  const { server, stream, client } = await wiredPair();
  let bytes = 0;
  client.on('data', (b: Buffer) => (bytes += b.length));
  mqttPacket.writeToStream({ cmd: 'connack', returnCode: 0, sessionPresent: false }, stream);
  await new Promise((r) => setImmediate(r));
  expect(server.writableCorked).toBe(0);
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 7 }, stream);
  await new Promise((r) => setImmediate(r));
  expect(server.writableCorked).toBe(0);
  while (bytes < 4 + 4) await once(client, 'data');
  expect(bytes).toBe(8); // CONNACK and PUBACK, 4 bytes each
});
