/**
 * Fuzzing the MQTT ingest parsers: topic → twin path, payload decoding (plain JSON,
 * structured and binary CloudEvents from MQTT 5 properties), the framer the embedded
 * broker's wire follows packet boundaries with, and the MQTT 5 packet parser its
 * session reads (mqtt-packet, properties included) on mutated packets.
 */
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { TwinPath } from '../../src/topology/index.js';
import { MqttFramer } from '../../src/node/ingest/mqtt-framer.js';
import { MqttDecoder, TopicMap } from '../../src/node/ingest/mqtt-message.js';
import { NOTHING, TIMEOUT, fuzz, twinError } from './runs.js';
import { hostileJsonText, mutated, mutatedBytes, nasty } from './mutate.js';
import { structuredEvent } from './events.js';

const TOPIC = 'org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate';
export const topic = fc.oneof(
  { arbitrary: mutated(fc.constantFrom(TOPIC, `tf/${TOPIC}`, 'org/a/signals/x', 'org/a/commands/y')), weight: 4 },
  fc
    .array(fc.oneof(nasty, fc.constantFrom('org', 'signals', 'commands', '', '+', '#', '$SYS')), { maxLength: 12 })
    .map((s) => s.join('/')),
);
const userProperties = fc.option(
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
const contentType = fc.option(
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
const packet: fc.Arbitrary<Packet> = fc.oneof(
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
function wire(p: Packet): Uint8Array {
  try {
    return new Uint8Array(mqttPacket.generate(p, { protocolVersion: 5 }));
  } catch {
    return new Uint8Array([0x30, 0x00]);
  }
}
const packetBytes = fc.oneof(
  { arbitrary: mutatedBytes(packet.map(wire)), weight: 4 },
  packet.map(wire),
  fc.uint8Array({ maxLength: 40 }),
);

describe('MQTT ingest fuzz', () => {
  it(
    'TopicMap.pathOf gives null or a string the path parser accepts or refuses with TWIN_PATH_INVALID',
    () => {
      const maps = [new TopicMap(''), new TopicMap('tf/')];
      fuzz(
        'mqtt: topic → path',
        fc.tuple(topic, fc.nat(1)),
        ([t, m]) => {
          const map = maps[m]!;
          map.leadingSlash(t);
          const path = map.pathOf(t);
          if (path !== null) TwinPath.parse(path);
        },
        twinError('TWIN_PATH_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'MqttDecoder.message returns an event or throws a TwinError, for MQTT 3.1.1 and 5 messages',
    () => {
      const decoders = [new MqttDecoder(), new MqttDecoder({ pathAttribute: 'twin', maxPayloadBytes: 64 })];
      fuzz(
        'mqtt: payload decode',
        fc.tuple(payload, userProperties, contentType, fc.nat(1)),
        ([p, user, ct, d]) => {
          const properties =
            user === undefined && ct === undefined ? undefined : { userProperties: user, contentType: ct };
          const e = decoders[d]!.message({ topic: TOPIC, payload: p, properties }, `/${TOPIC}`, 'dev-1');
          expect(typeof e.subject).toBe('string');
        },
        twinError('TWIN_PAYLOAD_TOO_LARGE', 'TWIN_PAYLOAD_INVALID', 'TWIN_CLOUDEVENT_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'MqttFramer finds the same packet boundaries in any chunking, and never throws',
    () => {
      fuzz(
        'mqtt: framer',
        fc.tuple(fc.array(packetBytes, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(64), { maxLength: 8 })),
        ([packets, cuts]) => {
          const bytes = Buffer.concat(packets.map((p) => Buffer.from(p)));
          const follow = (chunks: Buffer[]) => {
            const ends: number[] = [];
            const topics: string[] = [];
            const f = new MqttFramer(true, {
              ended: (type) => ends.push(type),
              topic: (t) => (topics.push(t.toString('hex')), null),
            });
            for (const c of chunks) {
              const fault = f.scan(c);
              if (fault) return { ends, topics, fault: fault.kind };
            }
            return { ends, topics, fault: null };
          };
          const whole = follow([bytes]);
          const chunks: Buffer[] = [];
          let at = 0;
          for (const c of cuts) {
            chunks.push(bytes.subarray(at, at + c));
            at += c;
          }
          chunks.push(bytes.subarray(at));
          expect(follow(chunks)).toEqual(whole);
        },
        NOTHING,
      );
    },
    TIMEOUT,
  );

  it(
    "the MQTT 5 session's packet parser reports malformed packets as 'error' events and never throws",
    () => {
      fuzz(
        'mqtt: MQTT 5 packets (properties)',
        fc.array(packetBytes, { minLength: 1, maxLength: 4 }),
        (packets) => {
          const parser = mqttPacket.parser({ protocolVersion: 5 });
          let errors = 0;
          parser.on('error', () => errors++);
          parser.on('packet', () => undefined);
          for (const p of packets) parser.parse(Buffer.from(p));
          return errors;
        },
        NOTHING,
      );
    },
    TIMEOUT,
  );
});
