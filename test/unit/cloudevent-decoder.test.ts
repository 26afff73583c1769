import { CloudEvent } from 'cloudevents';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBinary, decodeStructured, isJsonContentType, parseTimestamp } from '../../src/node/ingest/cloudevent.js';
import { TwinError } from '../../src/index.js';

/** What the SDK makes of an event: the constructed CloudEvent, or null when it rejects it. */
function sdk(o: Record<string, unknown>): CloudEvent<unknown> | null {
  try {
    return new CloudEvent(o);
  } catch {
    return null;
  }
}

function ours(o: Record<string, unknown>) {
  try {
    return decodeStructured(o, { fallbackPath: '/fallback' });
  } catch (err) {
    expect(err).toBeInstanceOf(TwinError);
    expect(['TWIN_CLOUDEVENT_INVALID', 'TWIN_PAYLOAD_INVALID']).toContain((err as TwinError).code);
    return null;
  }
}

/**
 * The documented places where the decoder is stricter than the SDK (the spec agrees with
 * the decoder): the SDK invents a missing id or time, accepts other spec versions without
 * validating them, and accepts data with data_base64. Its date-time check (ajv-formats
 * 2.1.1) also lets through a missing UTC offset and offsets beyond 23 hours, which RFC 3339
 * forbids.
 */
const SDK_LENIENT_TIMES = ['2020-01-01T00:00:00', '2020-01-01T00:00:00+25:00'];
function sdkLeniency(o: Record<string, unknown>): boolean {
  return (
    SDK_LENIENT_TIMES.includes(o.time as string) ||
    o.specversion !== '1.0' ||
    typeof o.id !== 'string' ||
    o.id === '' ||
    o.time === '' ||
    o.time === 0 ||
    (o.data !== undefined && o.data_base64 !== undefined && o.data_base64 !== null)
  );
}

const isoTime = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const badTime = fc.constantFrom(
  '2020-13-01T00:00:00Z',
  '2021-02-29T00:00:00Z',
  'yesterday',
  '2020-01-01T24:00:00Z',
  '2020-1-01T00:00:00Z',
  ...SDK_LENIENT_TIMES,
);
const oddTime = fc.constantFrom(
  '2020-01-01 10:00:00Z',
  '2020-01-01t10:00:00z',
  '2020-01-01T10:00:00.123456+01:30',
  '2020-01-01T10:00:00-0530',
  '2016-12-31T23:59:60Z',
  '2020-01-01T10:00:00+01',
);
const uriChars = fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@/?%".split(''));
const badChars = fc.constantFrom(' ', '<', '>', '{', '|', '\\', '^', '`', 'é', '\n');
const source = fc.oneof(
  fc.webUrl(),
  fc.constantFrom(
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
    '/sensors/tn-1234567/alerts',
    'dev/1',
    'mqtt://client-7',
    'mailto:a@b.c',
    '%41%42',
  ),
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), fc.array(uriChars, { maxLength: 12 }))
    .map(([s, cs]) => `${s}/${cs.join('').replace(/%/g, '%2F')}`),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,5}$/), badChars, fc.stringMatching(/^[a-z]{0,5}$/))
    .map(([a, b, c]) => a + b + c),
  fc.constantFrom('', '%zz', 'a%4', '#a#b'),
);
const jsonText = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v));
const extName = fc.constantFrom('ext1', 'comexampleext', 'traceparent', 'Bad', 'with-dash', 'x_y');
const extValue = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(1.5));

const event = fc
  .record(
    {
      specversion: fc.oneof(
        { weight: 10, arbitrary: fc.constant('1.0') },
        { weight: 1, arbitrary: fc.constantFrom('0.3', '2.0', '', 1) },
      ),
      id: fc.oneof(
        { weight: 10, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
        { weight: 1, arbitrary: fc.constantFrom('', 5, null) },
      ),
      source,
      type: fc.oneof(
        { weight: 10, arbitrary: fc.constantFrom('reading', 'com.example.thing.v1') },
        { weight: 1, arbitrary: fc.constantFrom('', 7) },
      ),
      subject: fc.oneof(fc.constant('/org/a/site/b'), fc.constant(''), fc.constant(null)),
      time: fc.oneof(
        { weight: 6, arbitrary: isoTime },
        { weight: 2, arbitrary: oddTime },
        { weight: 2, arbitrary: badTime },
        { weight: 1, arbitrary: fc.constant('') },
      ),
      datacontenttype: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/vnd.x+json; charset=utf-8',
        '',
        null,
        3,
      ),
      dataschema: fc.constantFrom('https://example.com/s.json', 'urn:schema:1', 'relative/path', 'not a uri', ''),
      data: fc.jsonValue({ maxDepth: 2 }),
      data_base64: fc.oneof(
        jsonText.map((t) => Buffer.from(t).toString('base64')),
        fc.constant(null),
      ),
    },
    { requiredKeys: ['specversion', 'id', 'source', 'type'] },
  )
  .chain((e) => fc.dictionary(extName, extValue, { maxKeys: 2 }).map((ext) => ({ ...ext, ...e })));

describe('CloudEvent decoder', () => {
  it('agrees with the cloudevents SDK on generated events (accept/reject and attributes)', () => {
    fc.assert(
      fc.property(event, (o) => {
        const theirs = sdk(o);
        const mine = ours(o);
        if (sdkLeniency(o)) {
          if (theirs === null) expect(mine).toBeNull();
          return;
        }
        expect(mine !== null).toBe(theirs !== null);
        if (!mine || !theirs) return;
        expect(mine.id).toBe(theirs.id);
        expect(mine.source).toBe(theirs.source);
        expect(mine.type).toBe(theirs.type);
        expect(mine.subject).toBe(typeof theirs.subject === 'string' ? theirs.subject : '/fallback');
        expect(mine.datacontenttype).toBe(theirs.datacontenttype ?? undefined);
        const t = typeof o.time === 'string' ? Date.parse(o.time) : NaN;
        if (Number.isFinite(t)) expect(mine.time).toBe(t);
        if (typeof o.data_base64 === 'string') {
          const text = Buffer.from(theirs.data as Uint8Array).toString('utf8');
          expect(mine.data).toEqual(isJsonContentType(mine.datacontenttype) ? JSON.parse(text) : text);
        } else {
          expect(mine.data).toEqual(theirs.data);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('decodes binary mode from header-style attributes', () => {
    const headers: Record<string, string> = {
      specversion: '1.0',
      id: '9',
      source: 'urn:x',
      type: 'reading',
      subject: '/org/a',
      time: '2026-01-01T00:00:00Z',
    };
    const e = decodeBinary((n) => headers[n], Buffer.from('{"a":1}'), 'application/json');
    expect(e).toMatchObject({
      id: '9',
      source: 'urn:x',
      subject: '/org/a',
      time: Date.UTC(2026, 0, 1),
      data: { a: 1 },
    });
    expect(decodeBinary((n) => headers[n], Buffer.from('hello'), 'text/plain').data).toBe('hello');
    expect(() => decodeBinary((n) => headers[n], Buffer.from('{x'), 'application/json')).toThrow(/not valid JSON/);
    expect(() => decodeBinary((n) => (n === 'id' ? undefined : headers[n]), Buffer.alloc(0), undefined)).toThrow(
      /"id" is required/,
    );
    expect(
      decodeBinary((n) => ({ ...headers, devpath: '/org/b' })[n], Buffer.alloc(0), undefined, {
        pathAttribute: 'devpath',
      }).subject,
    ).toBe('/org/b');
  });

  it('percent-decodes binary-mode header values as UTF-8 (CloudEvents HTTP binding 3.1.3.2)', () => {
    const headers: Record<string, string> = {
      specversion: '1.0',
      id: 'r%201',
      source: 'urn:x',
      type: 'reading',
      subject: '/org/%C3%A4/caf%c3%a9/%F0%9F%8C%A1',
      time: '2026-01-01T00%3A00%3A00Z',
    };
    const e = decodeBinary((n) => headers[n], Buffer.alloc(0), undefined);
    expect(e).toMatchObject({ id: 'r 1', subject: '/org/ä/café/🌡', time: Date.UTC(2026, 0, 1) });
    // The same event in structured mode names the same twin.
    expect(decodeStructured({ ...headers, id: 'r 1', subject: '/org/ä/café/🌡', time: undefined }).subject).toBe(
      e.subject,
    );
    const refusal = (name: string, v: string) => {
      try {
        decodeBinary((n) => (n === name ? v : headers[n]), Buffer.alloc(0), undefined);
        return null;
      } catch (err) {
        expect((err as TwinError).code).toBe('TWIN_CLOUDEVENT_INVALID');
        return (err as TwinError).message;
      }
    };
    // Raw UTF-8 "ä" as Node hands a header value over (each byte a latin1 character), a control character.
    expect(refusal('subject', '/org/\u00c3\u00a4')).toMatch(
      /"ce-subject" header .*outside printable ASCII.*percent-encode/,
    );
    expect(refusal('id', 'a\tb')).toMatch(/"ce-id" header .*outside printable ASCII/);
    expect(refusal('subject', '/org/%')).toMatch(/"ce-subject" header has a malformed percent-escape "%"/);
    expect(refusal('source', 'urn:%zz')).toMatch(/"ce-source" header has a malformed percent-escape "%zz"/);
    expect(refusal('type', 'a%C3')).toMatch(/"ce-type" header's percent-escapes do not decode to valid UTF-8/);
    expect(refusal('subject', '/org/%ED%A0%80')).toMatch(/not decode to valid UTF-8/); // an encoded surrogate
    expect(refusal('specversion', '1%2E0')).toBe(null); // "1.0", escaped needlessly
    expect(refusal('subject', '/org/"a b"')).toBe(null); // printable ASCII the sender should have escaped: taken as is
  });

  it('percent-decoding round-trips any UTF-8 subject the way a sender encodes it (property)', () => {
    const encode = (s: string) => {
      let out = '';
      for (const b of Buffer.from(s, 'utf8'))
        out +=
          b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x25
            ? String.fromCharCode(b)
            : `%${b.toString(16).padStart(2, '0')}`;
      return out;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (s) => {
        const attrs: Record<string, string> = {
          specversion: '1.0',
          id: '1',
          source: 'urn:x',
          type: 't',
          subject: encode(s),
        };
        expect(decodeBinary((n) => attrs[n], Buffer.alloc(0), undefined).subject).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves MQTT 5 user properties as they are (percentEncoded: false): UTF-8, no escapes', () => {
    const props: Record<string, string> = {
      specversion: '1.0',
      id: '1',
      source: 'urn:x',
      type: 't',
      subject: '/org/ä/%C3%A4',
    };
    expect(decodeBinary((n) => props[n], Buffer.alloc(0), undefined, { percentEncoded: false }).subject).toBe(
      '/org/ä/%C3%A4',
    );
  });

  it('parses RFC 3339 timestamps with offsets, fractions and leap seconds', () => {
    expect(parseTimestamp('2020-01-01T10:00:00+01:00')).toBe(Date.UTC(2020, 0, 1, 9));
    expect(parseTimestamp('2020-01-01T10:00:00.5Z')).toBe(Date.UTC(2020, 0, 1, 10, 0, 0, 500));
    expect(parseTimestamp('2016-12-31T23:59:60Z')).toBe(Date.UTC(2017, 0, 1));
    expect(() => parseTimestamp('2020-02-30T00:00:00Z')).toThrow(TwinError);
  });

  it('reads the years 0000-0099 as such (Date.UTC reads them as 1900-1999), and never reads "" as a time', () => {
    for (const text of [
      '0050-06-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '0099-12-31T23:59:59.999Z',
      '0004-02-29T12:00:00+02:00',
    ])
      expect(new Date(parseTimestamp(text)).toISOString(), text).toBe(
        new Date(Date.parse(text.replace(/^(\d{4})/, '+00$1'))).toISOString(),
      );
    expect(new Date(parseTimestamp('0050-06-01T00:00:00Z')).getUTCFullYear()).toBe(50);
    expect(() => parseTimestamp('0003-02-29T00:00:00Z')).toThrow(TwinError); // not a leap year
    expect(parseTimestamp('0100-01-01T00:00:00Z')).toBe(Date.UTC(100, 0, 1));
    expect(() => parseTimestamp('')).toThrow(TwinError);
  });
});
