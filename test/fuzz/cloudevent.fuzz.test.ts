/**
 * Fuzzing the CloudEvents decoders: structured (a parsed JSON object), binary (attributes
 * from `ce-*` headers or MQTT 5 user properties, bytes and a content type) and batch (the
 * byte scan that counts a batch before it is parsed). Decoded events or TwinError, fast.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBinary, decodeStructured } from '../../src/index.js';
import { topLevelItems } from '../../src/node/http/batch-scan.js';
import { NOTHING, TIMEOUT, fuzz, twinError } from './runs.js';
import { hostileJson, hostileJsonText, mutated, mutatedBytes, nasty } from './mutate.js';
import { SUBJECT, attrText, structuredEvent } from './events.js';

const pathAttribute = fc.constantFrom(undefined, 'subject', 'twin', '__proto__', 'constructor', 'toString');

describe('CloudEvents decoder fuzz', () => {
  it(
    'structured: decodeStructured returns an event or throws a TwinError',
    () => {
      const input = fc.oneof(
        { arbitrary: structuredEvent, weight: 6 },
        hostileJson,
        hostileJsonText.map((t) => {
          try {
            return JSON.parse(t) as unknown;
          } catch {
            return t;
          }
        }),
      );
      fuzz(
        'cloudevents: structured',
        fc.tuple(input, pathAttribute, fc.option(fc.constant(SUBJECT), { nil: undefined })),
        ([o, pathAttribute, fallbackPath]) => {
          const e = decodeStructured(o, { pathAttribute, fallbackPath });
          expect(typeof e.subject).toBe('string');
          expect(e.time === undefined || Number.isFinite(e.time)).toBe(true);
        },
        twinError('TWIN_CLOUDEVENT_INVALID', 'TWIN_PAYLOAD_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'binary: decodeBinary returns an event or throws a TwinError',
    () => {
      const headers = fc.dictionary(
        fc.oneof(
          fc.constantFrom('specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema', 'twin'),
          nasty,
        ),
        attrText,
        { maxKeys: 3 },
      );
      const body = fc.oneof(
        hostileJsonText.map((t) => new Uint8Array(Buffer.from(t))),
        mutatedBytes(hostileJsonText.map((t) => new Uint8Array(Buffer.from(t)))),
        fc.uint8Array({ maxLength: 32 }),
      );
      const contentType = fc.option(
        fc.oneof(
          fc.constantFrom('application/json', 'text/plain; charset=utf-8', 'application/cloudevents+json', 'TEXT/JSON'),
          mutated(fc.constant('application/vnd.x+json; a=b')),
        ),
        { nil: undefined },
      );
      fuzz(
        'cloudevents: binary',
        fc.tuple(headers, body, contentType, pathAttribute),
        ([h, b, ct, pathAttribute]) => {
          const attrs: Record<string, string> = {
            specversion: '1.0',
            id: '1',
            source: 'dev/1',
            type: 'reading',
            subject: SUBJECT,
          };
          for (const [k, v] of Object.entries(h)) attrs[k] = v;
          decodeBinary((n) => (Object.hasOwn(attrs, n) ? attrs[n] : undefined), b, ct, { pathAttribute });
        },
        twinError('TWIN_CLOUDEVENT_INVALID', 'TWIN_PAYLOAD_INVALID'),
      );
    },
    TIMEOUT,
  );

  it(
    'batch: topLevelItems never throws and counts what JSON.parse finds',
    () => {
      const batch = fc.oneof(
        fc.array(structuredEvent, { maxLength: 6 }).map((a) => JSON.stringify(a)),
        mutated(fc.array(structuredEvent, { maxLength: 4 }).map((a) => JSON.stringify(a))),
        hostileJsonText,
        fc.integer({ min: 1, max: 20_000 }).map((n) => '[' + '{},'.repeat(n) + '{}]'),
      );
      fuzz(
        'cloudevents: batch scan',
        fc.tuple(batch, fc.integer({ min: 1, max: 10_000 })),
        ([text, limit]) => {
          const bytes = Buffer.from(text);
          const n = topLevelItems(bytes, limit);
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return; // not JSON: the parser that runs after the scan refuses it
          }
          if (!Array.isArray(parsed)) expect(n).toBeUndefined();
          else if (parsed.length <= limit) expect(n).toBe(parsed.length);
          else expect(n).toBeGreaterThan(limit);
        },
        NOTHING,
      );
    },
    TIMEOUT,
  );
});
