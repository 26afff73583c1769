/** Generators of MQTT topics, payloads, properties and MQTT 5 packets for the fuzz files. */
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { hostileJsonText, mutated, mutatedBytes, nasty } from './mutate.js';
import { structuredEvent } from './events.js';

export const TOPIC = 'org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate';
export const topic = fc.oneof(
  { arbitrary: mutated(fc.constantFrom(TOPIC, `tf/${TOPIC}`, 'org/a/signals/x', 'org/a/commands/y')), weight: 4 },
  fc
    .array(fc.oneof(nasty, fc.constantFrom('org', 'signals', 'commands', '', '+', '#', '$SYS')), { maxLength: 12 })
    .map((s) => s.join('/')),
);
export const userProperties = fc.option(
  fc.dictionary(
    fc.oneof(fc.constantFrom('specversion', 'id', 'source', 'type', 'subject', 'time', 'twin'), nasty),
    fc.oneof(
      fc.constantFrom('1.0', 'dev/1', 'reading', `/${TOPIC}`),
      nasty,
      fc.array(fc.constantFrom('1.0', 'x', ''), { minLength: 1, maxLength: 3 }),
    ),
    { maxKeys: 7 },
  ),
  { nil: undefined },
);
export const contentType = fc.option(
  fc.oneof(
    fc.constantFrom('application/json', 'application/cloudevents+json', 'text/plain', 'application/octet-stream'),
    mutated(fc.constant('application/cloudevents+json; charset=utf-8')),
  ),
  { nil: undefined },
);
export const payload = fc.oneof(
  hostileJsonText.map((t) => Buffer.from(t)),
  structuredEvent.map((e) => Buffer.from(JSON.stringify(e))),
  mutatedBytes(structuredEvent.map((e) => new Uint8Array(Buffer.from(JSON.stringify(e))))).map((b) => Buffer.from(b)),
  fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)),
);

/** Valid MQTT 5 packets of every kind a client sends, with random properties. */
export const packet: fc.Arbitrary<Packet> = fc.oneof(
  fc
    .record({
      topic: fc.string({ maxLength: 20 }),
      payload,
      qos: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
      messageId: fc.integer({ min: 1, max: 65535 }),
      retain: fc.boolean(),
      properties: fc.record(
        {
          payloadFormatIndicator: fc.boolean(),
          messageExpiryInterval: fc.nat(),
          topicAlias: fc.integer({ min: 1, max: 65535 }),
          responseTopic: fc.string({ maxLength: 10 }),
          correlationData: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
          userProperties: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 }),
          subscriptionIdentifier: fc.integer({ min: 1, max: 268435455 }),
          contentType: fc.string({ maxLength: 20 }),
        },
        { requiredKeys: [] },
      ),
    })
    .map((p): Packet => ({ cmd: 'publish', dup: false, ...p })),
  fc
    .record({
      clientId: fc.string({ maxLength: 12 }),
      keepalive: fc.nat(65535),
      username: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
      password: fc.option(
        fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
        { nil: undefined },
      ),
      properties: fc.record(
        {
          sessionExpiryInterval: fc.nat(),
          receiveMaximum: fc.integer({ min: 1, max: 65535 }),
          maximumPacketSize: fc.integer({ min: 1, max: 2 ** 28 }),
          topicAliasMaximum: fc.nat(65535),
          requestResponseInformation: fc.boolean(),
          requestProblemInformation: fc.boolean(),
          userProperties: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
          authenticationMethod: fc.string({ maxLength: 8 }),
        },
        { requiredKeys: [] },
      ),
    })
    .map((c): Packet => ({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, ...c })),
  fc
    .record({
      messageId: fc.integer({ min: 1, max: 65535 }),
      topic: fc.string({ minLength: 1, maxLength: 12 }),
      qos: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    })
    .map(({ messageId, topic: t, qos }): Packet => ({
      cmd: 'subscribe',
      messageId,
      subscriptions: [{ topic: t, qos, nl: false, rap: false, rh: 0 }],
    })),
  fc.constantFrom<Packet>({ cmd: 'pingreq' }, { cmd: 'disconnect' }),
);

/** Wire bytes of a packet (mqtt-packet refuses some generated shapes: those become random bytes). */
export function wire(p: Packet): Uint8Array {
  try {
    return new Uint8Array(mqttPacket.generate(p, { protocolVersion: 5 }));
  } catch {
    return new Uint8Array([0x30, 0x00]);
  }
}
export const packetBytes = fc.oneof(
  { arbitrary: mutatedBytes(packet.map(wire)), weight: 4 },
  packet.map(wire),
  fc.uint8Array({ maxLength: 40 }),
);
