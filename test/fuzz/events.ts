/** Generators of CloudEvents for the fuzz files: valid events with a few attributes broken. */
import fc from 'fast-check';
import { hostileJson, mutated, nasty } from './mutate.js';

export const SUBJECT = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate';

export const attrText = fc.oneof(
  {
    arbitrary: fc.constantFrom('1.0', 'dev/1', 'reading', 'urn:x', SUBJECT, 'a:b', 'http://x/y?z#w', '%41'),
    weight: 6,
  },
  mutated(fc.constantFrom('1.0', 'dev/1', 'reading', SUBJECT, 'https://h/p')),
  nasty,
);
const timeText = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  mutated(fc.constantFrom('2026-02-29T23:59:60Z', '2024-02-29T23:59:60.123+01:00', '1999-12-31t23:59:59-00:00')),
  fc.string({ maxLength: 30 }),
);

const VALID = {
  specversion: '1.0',
  id: '1',
  source: 'dev/1',
  type: 'reading',
  subject: SUBJECT,
  time: '2026-12-05T10:00:00Z',
  data: { temperature: 21, humidity: 40 },
};
const KEYS = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'ext',
  '__proto__',
  'constructor',
  'Bad_Name',
] as const;
const attrValue = fc.oneof(
  { arbitrary: attrText, weight: 3 },
  timeText,
  fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'x+json; charset=utf-8'),
  hostileJson,
  fc.constant(undefined),
);

/** Structured events: a valid one with 0-3 attributes replaced, removed or added (wrong types, bad times and URIs). */
export const structuredEvent = fc
  .array(fc.tuple(fc.constantFrom(...KEYS), attrValue), { maxLength: 3 })
  .map((edits) => {
    const o: Record<string, unknown> = { ...VALID };
    for (const [k, v] of edits) {
      // defineProperty: "__proto__" as an own data key, the way JSON.parse makes it.
      if (v === undefined) delete o[k];
      else Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return o;
  });
