import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import type { DerivedEvent } from '../../src/index.js';
import { ingestionFromFlags } from '../../src/node/config/ingest-config.js';
import { BadInput } from '../../src/node/ingest/bad-input.js';
import { MemoryDeadLetters } from '../../src/node/ingest/dead-letters.js';
import { IngestQueue } from '../../src/node/ingest/ingest-queue.js';
import { Rejections } from '../../src/node/rejections.js';
import { MqttDecoder, TopicMap } from '../../src/node/ingest/mqtt-message.js';
import { MqttFramer } from '../../src/node/ingest/mqtt-framer.js';
import { FilterUtf8Marker } from '../../src/node/ingest/mqtt-filter-utf8.js';
import { defaultOutputTopic } from '../../src/node/outputs/mqtt-sink.js';
import { PermanentSinkError, SinkQueue, type Sink } from '../../src/node/outputs/sink-queue.js';
import { TwinError } from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

const silent = pino({ level: 'silent' });
const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';
const event = (n: number, type = 'evacuation', subject = '/org/a/site/b'): DerivedEvent => ({
  specversion: '1.0',
  id: String(n),
  source: subject,
  type,
  subject,
  time: new Date(0).toISOString(),
  datacontenttype: 'application/json',
  data: { n },
});

describe('TopicMap', () => {
  it('maps topics to paths under a prefix and skips foreign, $ and output topics', () => {
    const t = new TopicMap('tf/');
    expect(t.pathOf('tf/org/a/site/b')).toBe('/org/a/site/b');
    expect(t.pathOf('other/org/a')).toBeNull();
    expect(t.pathOf('$SYS/broker/uptime')).toBeNull();
    expect(t.pathOf('tf/org/a/site/b/signals/evacuation')).toBeNull();
    expect(t.pathOf('tf/org/a/floor/3/commands/hvac')).toBeNull();
    expect(t.topicOf('/org/a')).toBe('tf/org/a');
    expect(new TopicMap().pathOf('org//x')).toBe('/org//x'); // left for path validation to reject
    // A leading '/' after the prefix gets its own message naming the topic to use instead.
    expect(t.leadingSlash('tf//org/a')?.message).toBe(
      'MQTT topic "tf//org/a" must not start with "/" after the prefix "tf/": topic "tf/org/a" is the twin "/org/a"',
    );
    expect(t.leadingSlash('tf/org/a')).toBeNull();
    expect(t.leadingSlash('ab//org/a')).toBeNull(); // not under the prefix: never ingested anyway
  });

  it('routes derived events: signals, hvac commands and device commands', () => {
    expect(defaultOutputTopic(event(1))).toBe('/org/a/site/b/signals/evacuation');
    expect(defaultOutputTopic(event(1, 'hvac.adjust', '/org/a/floor/3'))).toBe('/org/a/floor/3/commands/hvac');
    expect(defaultOutputTopic(event(1, 'hvac.adjust.cleared', '/org/a/floor/3'))).toBe('/org/a/floor/3/commands/hvac');
    expect(defaultOutputTopic(event(1, 'command.setpoint', '/org/a/dev/7'))).toBe('/org/a/dev/7/commands/setpoint');
  });
});

describe('MqttDecoder', () => {
  it('tells payload modes apart and generates unique ids for plain readings', () => {
    const d = new MqttDecoder({ maxPayloadBytes: 100 });
    const plain = d.message({ topic: 'x', payload: Buffer.from('{"a":1}') }, '/x', 'dev');
    const plain2 = d.message({ topic: 'x', payload: Buffer.from('{"a":1}') }, '/x', 'dev');
    expect(plain).toMatchObject({ subject: '/x', source: 'mqtt://dev', data: { a: 1 } });
    expect(plain.id).not.toBe(plain2.id);
    expect(
      d.message(
        { topic: 'x', payload: Buffer.from('{"specversion":"1.0","id":"1","source":"s","type":"t"}') },
        '/x',
        'dev',
      ),
    ).toMatchObject({ id: '1', subject: '/x', type: 't' });
    expect(() => d.message({ topic: 'x', payload: Buffer.alloc(101) }, '/x', 'dev')).toThrow(
      expect.objectContaining({ code: 'TWIN_PAYLOAD_TOO_LARGE' }),
    );
  });
});

describe('SinkQueue', () => {
  it('drops the oldest events when a sink falls behind, never blocking push', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: number[] = [];
    const sink: Sink = {
      name: 'slow',
      deliver: async (e) => {
        await gate;
        got.push((e.data as { n: number }).n);
      },
    };
    const q = new SinkQueue(sink, new MemoryDeadLetters(), silent, { capacity: 3 });
    for (let i = 0; i < 10; i++) q.push(event(i));
    expect(q.stats).toMatchObject({ dropped: 6, queued: 3 });
    release();
    await q.idle();
    expect(got).toEqual([0, 7, 8, 9]); // the first was already in flight
  });

  it('retries with backoff and dead-letters permanent failures at once', async () => {
    let calls = 0;
    const dl = new MemoryDeadLetters();
    const flaky: Sink = {
      name: 'flaky',
      deliver: async () => {
        if (++calls < 3) throw new Error('down');
      },
    };
    const q = new SinkQueue(flaky, dl, silent, { baseDelayMs: 1 });
    q.push(event(1));
    await q.idle();
    expect(q.stats).toMatchObject({ delivered: 1, retries: 2 });
    const permanent = new SinkQueue(
      {
        name: 'p',
        deliver: async () => {
          throw new PermanentSinkError('HTTP 400');
        },
      },
      dl,
      silent,
      { baseDelayMs: 1 },
    );
    permanent.push(event(2));
    await permanent.idle();
    expect(permanent.stats).toMatchObject({ deadLettered: 1, retries: 0 });
    expect(dl.list()[0]).toMatchObject({ origin: 'output', code: 'TWIN_OUTPUT_FAILED', where: 'p' });
  });
});

describe('IngestQueue', () => {
  it('answers in submission order, including inputs that failed before ingest', async () => {
    const { rt } = simulatedRuntime({ models: buildingModels() });
    const dl = new MemoryDeadLetters(2);
    const q = new IngestQueue(rt, new BadInput(new Rejections(silent), dl));
    const order: string[] = [];
    const note = { origin: 'mqtt' as const };
    q.push({ subject: `${ROOM}/sensors/climate`, data: { temperature: 20, humidity: 1 } }, note, (e) =>
      order.push(`a:${e?.code ?? 'ok'}`),
    );
    q.pushRejected(new TwinError('TWIN_PAYLOAD_INVALID', 'bad'), note, (e) => order.push(`b:${e?.code}`));
    q.push({ subject: '/nowhere', data: {} }, note, (e) => order.push(`c:${e?.code ?? 'ok'}`));
    q.push({ subject: `${ROOM}/sensors/climate`, data: { temperature: 21, humidity: 1 } }, note, (e) =>
      order.push(`d:${e?.code ?? 'ok'}`),
    );
    await q.drained();
    expect(order).toEqual(['a:ok', 'b:TWIN_PAYLOAD_INVALID', 'c:TWIN_NO_ROUTE', 'd:ok']);
    expect(await rt.get(ROOM, 'temperature')).toBe(21);
    expect(dl.counts()).toEqual({ total: 2, evicted: 0, retained: 2 });
  });
});

describe('ingestion flags', () => {
  it('parses MQTT and webhook flags; --mqtt-port 0 is any free port, --no-mqtt turns MQTT off', () => {
    expect(ingestionFromFlags({}, {}).mqtt).toMatchObject({ port: 1883 });
    expect(ingestionFromFlags({ 'mqtt-port': '0' }, {}).mqtt).toMatchObject({ port: 0 });
    expect(ingestionFromFlags({ 'no-mqtt': true }, {}).mqtt).toBeUndefined();
    expect(ingestionFromFlags({ 'no-mqtt': true, 'mqtt-url': 'mqtt://h:1' }, {}).mqtt).toBeUndefined();
    expect(ingestionFromFlags({}, { TWINFLOW_NO_MQTT: '1' }).mqtt).toBeUndefined();
    expect(ingestionFromFlags({}, { TWINFLOW_NO_MQTT: '' }).mqtt).toMatchObject({ port: 1883 });
    expect(
      ingestionFromFlags(
        { 'mqtt-url': 'mqtt://h:1', 'mqtt-subscription': '$share/g/org/#', 'mqtt-topic-prefix': 'tf/' },
        {},
      ).mqtt,
    ).toMatchObject({ url: 'mqtt://h:1', subscription: '$share/g/org/#', topicPrefix: 'tf/' });
    expect(ingestionFromFlags({ webhook: ['http://a/h', 'binary:http://b/h'] }, {}).outputs!.webhooks).toEqual([
      { url: 'http://a/h' },
      { url: 'http://b/h', mode: 'binary' },
    ]);
    expect(() => ingestionFromFlags({ 'mqtt-port': 'x' }, {})).toThrow(/--mqtt-port/);
    expect(() => ingestionFromFlags({ webhook: ['nope'] }, {})).toThrow(/--webhook/);
  });
});

describe("MqttFramer (the embedded broker wire's packet boundaries)", () => {
  it('#13.5 finds every packet, its size and topic, however the stream is cut, without buffering bodies', () => {
    const packets = [
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'f',
        keepalive: 60,
      }),
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'org/a',
        payload: Buffer.alloc(300, 1),
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      }),
      mqttPacket.generate({ cmd: 'pingreq' }),
      mqttPacket.generate({ cmd: 'publish', topic: 'é/ü', payload: '', qos: 0, retain: false, dup: false }),
      mqttPacket.generate({ cmd: 'puback', messageId: 7 }),
    ];
    const stream = Buffer.concat(packets);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const seen: { type: number; bytes: number }[] = [];
      const topics: string[] = [];
      const ended: number[] = [];
      const f = new MqttFramer(true, {
        started: (type, _flags, bytes) => (seen.push({ type, bytes }), null),
        topic: (t) => (topics.push(t.toString('utf8')), null),
        ended: (type) => void ended.push(type),
      });
      for (let i = 0; i < stream.length; i += size) expect(f.scan(stream.subarray(i, i + size))).toBeNull();
      expect(seen).toEqual(packets.map((p) => ({ type: p[0]! >> 4, bytes: p.length })));
      expect(ended).toEqual([1, 3, 12, 3, 4]);
      expect(topics).toEqual(['org/a', 'é/ü']);
    }
  });

  it('R6 filter drops whole packets chosen at their first byte, however the stream is cut', () => {
    const packets = [
      mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'org/a',
        payload: Buffer.alloc(300, 1),
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      }),
      mqttPacket.generate({ cmd: 'puback', messageId: 7 }),
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'org/b',
        payload: Buffer.alloc(200, 2),
        qos: 0,
        retain: false,
        dup: false,
      }),
      mqttPacket.generate({ cmd: 'publish', topic: 'org/c', payload: 'c', qos: 0, retain: false, dup: false }),
      mqttPacket.generate({ cmd: 'pingresp' }),
    ];
    const stream = Buffer.concat(packets);
    // Every other PUBLISH is dropped (the 1st and 3rd), and nothing else.
    const expected = Buffer.concat([packets[0]!, packets[2]!, packets[3]!, packets[5]!]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      let publishes = 0;
      const ended: number[] = [];
      const f = new MqttFramer(false, {
        skip: (type) => type === 3 && publishes++ % 2 === 0,
        ended: (type) => void ended.push(type),
      });
      const kept: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) kept.push(f.filter(stream.subarray(i, i + size)));
      expect(Buffer.concat(kept).equals(expected)).toBe(true);
      expect(ended).toEqual([2, 3, 4, 3, 3, 13]);
    }
  });

  it('marks each SUBSCRIBE / UNSUBSCRIBE filter that is not well-formed UTF-8 with U+0000, and nothing else, however the stream is cut', () => {
    const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
    const filters = [
      ...['a/b', 'é/+', '€', '🏭/#', '\u{10ffff}', '\ud7ff', '\ue000', '\u0800', '\u{10000}', '\ufffd'].map((f) =>
        Buffer.from(f),
      ),
      ...[
        'ff',
        '80',
        'c1 bf',
        'c3',
        'e0 9f bf',
        'ed a0 80',
        'f0 8f bf bf',
        'f4 90 80 80',
        'f5 80 80 80',
        'c3 c3 a9',
        '61 e2 82 41',
      ].map(hex),
    ];
    for (const version of [4, 5] as const) {
      for (const cmd of ['subscribe', 'unsubscribe'] as const) {
        // Stand-ins of the same length, patched into the encoded packet (mqtt-packet encodes strings only).
        const standIns = filters.map((f, i) => String.fromCharCode(0x41 + i).repeat(f.length));
        const properties = version === 5 ? { userProperties: { why: 'the walk skips properties' } } : undefined;
        const packet = mqttPacket.generate(
          cmd === 'subscribe'
            ? { cmd, messageId: 7, properties, subscriptions: standIns.map((topic) => ({ topic, qos: 1 as const })) }
            : { cmd, messageId: 7, properties, unsubscriptions: standIns },
          { protocolVersion: version },
        );
        for (const [i, f] of filters.entries()) f.copy(packet, packet.indexOf(Buffer.from(standIns[i]!)));
        const stream = Buffer.concat([mqttPacket.generate({ cmd: 'pingreq' }), packet, packet]);
        for (const size of [1, 2, 3, 7, stream.length]) {
          let marker: FilterUtf8Marker | null = null;
          const f = new MqttFramer(true, {
            started: (type) => (
              (marker = type === 8 || type === 10 ? new FilterUtf8Marker(type === 8, version === 5) : null),
              null
            ),
            body: (chunk, from, to) => marker?.walk(chunk, from, to),
            ended: () => undefined,
          });
          const copy = Buffer.from(stream);
          for (let i = 0; i < copy.length; i += size) expect(f.scan(copy.subarray(i, i + size))).toBeNull();
          const parsed: mqttPacket.Packet[] = [];
          const parser = mqttPacket.parser({ protocolVersion: version });
          parser.on('packet', (p) => parsed.push(p));
          parser.parse(copy);
          expect(parsed.map((p) => p.cmd)).toEqual(['pingreq', cmd, cmd]);
          for (const p of parsed.slice(1)) {
            const got =
              p.cmd === 'subscribe'
                ? p.subscriptions.map((s) => (expect(s.qos).toBe(1), s.topic))
                : (p as mqttPacket.IUnsubscribePacket).unsubscriptions;
            expect(p).toMatchObject({ messageId: 7, ...(properties && { properties }) });
            expect(got.map((t) => t.includes('\u0000'))).toEqual(filters.map((b) => !isUtf8(b)));
            // The well-formed ones pass as they were.
            expect(got.filter((_, i) => isUtf8(filters[i]!))).toEqual(filters.filter((b) => isUtf8(b)).map(String));
          }
        }
      }
    }
  });

  it('#13.5 a remaining length of more than 4 bytes is malformed', () => {
    const f = new MqttFramer(false, { ended: () => undefined });
    expect(f.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))?.kind).toBe('malformed');
  });
});
