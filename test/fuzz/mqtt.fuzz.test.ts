/**
 * Fuzzing the MQTT ingest parsers: topic → twin path, payload decoding (plain JSON,
 * structured and binary CloudEvents from MQTT 5 properties), the framer the embedded
 * broker's wire follows packet boundaries with, and the MQTT 5 packet parser its
 * session reads (mqtt-packet, properties included) on mutated packets.
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { TwinPath } from '../../src/topology/index.js';
import { MqttFramer } from '../../src/node/ingest/mqtt-framer.js';
import { MqttDecoder, TopicMap } from '../../src/node/ingest/mqtt-message.js';
import { NOTHING, TIMEOUT, fuzz, twinError } from './runs.js';
import { TOPIC, contentType, packetBytes, payload, topic, userProperties } from './mqtt-gen.js';

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
