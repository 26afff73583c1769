import { isUtf8 } from 'node:buffer';
import { TwinError } from '../../errors.js';

/**
 * A hand-written CloudEvents 1.0 decoder for the ingest hot path.
 *
 * The cloudevents SDK parses ~60-75 k events/s here (it validates through a generated
 * JSON schema and copies the event twice); devices send far more. This decoder checks
 * exactly the rules the spec makes mandatory, in one pass over the attributes, and
 * returns a plain object the runtime ingests directly. A property test
 * (test/unit/cloudevent-decoder.test.ts) keeps it in agreement with the SDK.
 *
 * Deliberate differences from the SDK (both are stricter, as the spec is):
 * - a missing `id`, `specversion` or `time` is not filled in (the SDK invents them);
 * - `data` and `data_base64` together are rejected (the spec says they are exclusive).
 * `source` is checked as a URI-reference by character class and percent-escapes; IP-literal
 * hosts (`[::1]`) are not accepted.
 */

/** A decoded event, ready for `Runtime.ingest`. `time` is epoch ms (undefined: arrival time). */
export interface DecodedCloudEvent {
  subject: string;
  type: string;
  id: string;
  source: string;
  time: number | undefined;
  data: unknown;
  datacontenttype: string | undefined;
}

export interface DecodeOptions {
  /** The attribute that names the twin path (default `subject`). */
  pathAttribute?: string;
  /** Used when the event has no path attribute (MQTT: the topic's path). */
  fallbackPath?: string;
  /**
   * Binary mode: the attribute values are `ce-*` HTTP headers, percent-encoded as the
   * CloudEvents HTTP binding (3.1.3.2) has senders do; each is decoded as UTF-8 (see
   * {@link decodeBinary}). Default true. False where values are UTF-8 strings as they are:
   * MQTT 5 user properties (the MQTT binding does not percent-encode them).
   */
  percentEncoded?: boolean;
}

const CONTEXT = new Set([
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
]);

/**
 * Decodes a structured-mode CloudEvent (already JSON-parsed) or throws a TwinError
 * naming the attribute: `TWIN_CLOUDEVENT_INVALID`, or `TWIN_PAYLOAD_INVALID` for
 * undecodable `data_base64`.
 *
 * @example
 * ```ts
 * const e = decodeStructured({ specversion: '1.0', id: '1', source: 'dev/1', type: 'reading',
 *   subject: '/org/contoso/site/berlin', data: { x: 1 } });
 * await rt.ingest(e);
 * ```
 */
export function decodeStructured(o: unknown, options: DecodeOptions = {}): DecodedCloudEvent {
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    throw invalid('a structured CloudEvent must be a JSON object');
  const e = o as Record<string, unknown>;
  if (e.specversion !== '1.0')
    throw invalid(
      e.specversion === undefined
        ? '"specversion" is required'
        : `unsupported "specversion" ${JSON.stringify(e.specversion)} (only "1.0")`,
    );
  const id = requiredString(e.id, 'id');
  const source = requiredString(e.source, 'source');
  if (!isUriReference(source)) throw invalid(`"source" is not a URI-reference: ${JSON.stringify(source.slice(0, 80))}`);
  const type = requiredString(e.type, 'type');
  const datacontenttype = optionalString(e.datacontenttype, 'datacontenttype');
  optionalString(e.subject, 'subject');
  const dataschema = optionalString(e.dataschema, 'dataschema');
  if (dataschema !== undefined && !isAbsoluteUri(dataschema)) throw invalid('"dataschema" must be an absolute URI');
  const timeText = optionalString(e.time, 'time');
  const time = timeText === undefined ? undefined : parseTimestamp(timeText);
  for (const key in e) {
    if (CONTEXT.has(key)) continue;
    if (!isAttributeName(key))
      throw invalid(`invalid attribute name ${JSON.stringify(key)} (lower-case a-z and 0-9 only)`);
    const v = e[key];
    if (v === undefined || typeof v === 'function' || (typeof v === 'number' && !Number.isInteger(v)))
      throw invalid(`extension "${key}" has a value outside the CloudEvents type system`);
  }
  let data: unknown = e.data;
  const b64 = e.data_base64;
  if (b64 !== undefined && b64 !== null) {
    if (data !== undefined) throw invalid('"data" and "data_base64" are mutually exclusive');
    if (typeof b64 !== 'string') throw invalid('"data_base64" must be a string');
    data = decodeBytes(Buffer.from(b64, 'base64'), datacontenttype);
  }
  return { subject: pathOf(e, options), type, id, source, time, data, datacontenttype };
}

/**
 * Decodes a binary-mode CloudEvent: attributes from `attr(name)` (HTTP `ce-*` headers,
 * MQTT 5 user properties), the data from the body bytes and `contentType`.
 *
 * HTTP header values are percent-decoded as UTF-8 (unless `options.percentEncoded` is
 * false), so `ce-subject: /org/%C3%A4` names the twin `/org/ä`, the same twin a structured
 * event with `"subject": "/org/ä"` reaches. A value with a malformed escape, escapes that
 * are not UTF-8, or characters outside printable ASCII (raw UTF-8 bytes, which Node reads
 * as latin1) is refused: TWIN_CLOUDEVENT_INVALID naming the header.
 *
 * @example
 * ```ts
 * const e = decodeBinary((n) => req.headers[`ce-${n}`] as string | undefined, body, req.headers['content-type']);
 * ```
 */
export function decodeBinary(
  attr: (name: string) => string | undefined,
  body: Uint8Array,
  contentType: string | undefined,
  options: DecodeOptions = {},
): DecodedCloudEvent {
  const value =
    options.percentEncoded === false
      ? attr
      : (name: string): string | undefined => {
          const v = attr(name);
          return v === undefined ? v : percentDecoded(v, name);
        };
  const specversion = value('specversion');
  if (specversion !== '1.0')
    throw invalid(
      specversion === undefined
        ? 'binary mode needs the "specversion" attribute'
        : `unsupported "specversion" ${JSON.stringify(specversion)} (only "1.0")`,
    );
  const fields: Record<string, unknown> = {
    specversion,
    id: value('id'),
    source: value('source'),
    type: value('type'),
  };
  for (const name of ['subject', 'time', 'dataschema'] as const) {
    const v = value(name);
    if (v !== undefined) fields[name] = v;
  }
  if (options.pathAttribute && !(options.pathAttribute in fields)) {
    const v = value(options.pathAttribute);
    if (v !== undefined) fields[options.pathAttribute] = v;
  }
  if (contentType !== undefined) fields.datacontenttype = contentType;
  const decoded = decodeStructured(fields, options);
  decoded.data = body.length === 0 ? null : decodeBytes(body, contentType);
  return decoded;
}

/**
 * The value of the `ce-<name>` header as the CloudEvents HTTP binding (3.1.3.2) sends it:
 * printable ASCII, with `%XX` escapes of the UTF-8 bytes of everything else (and of space,
 * `"` and `%`). The same string when it holds no escape (the usual header, no allocation);
 * throws TWIN_CLOUDEVENT_INVALID for a malformed escape, escapes that are not UTF-8, or a
 * character outside printable ASCII (a raw UTF-8 value arrives as latin1 characters).
 */
function percentDecoded(value: string, name: string): string {
  let escapes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e)
      throw invalid(
        `the "ce-${name}" header holds a character outside printable ASCII (at offset ${i}): percent-encode the value's UTF-8 bytes, as the CloudEvents HTTP binding requires (e.g. "ä" as "%C3%A4")`,
      );
    if (c === 0x25) escapes = true;
  }
  if (!escapes) return value;
  // Each escape is three characters for one byte, every other character one byte.
  const bytes = Buffer.allocUnsafe(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x25) {
      bytes[n++] = c;
      continue;
    }
    const hi = hexValue(value.charCodeAt(i + 1));
    const lo = hexValue(value.charCodeAt(i + 2));
    if (hi < 0 || lo < 0)
      throw invalid(
        `the "ce-${name}" header has a malformed percent-escape ${JSON.stringify(value.slice(i, i + 3))} at offset ${i}: "%" must be followed by two hex digits ("%25" for "%" itself)`,
      );
    bytes[n++] = (hi << 4) | lo;
    i += 2;
  }
  const decoded = bytes.subarray(0, n);
  if (!isUtf8(decoded))
    throw invalid(`the "ce-${name}" header's percent-escapes do not decode to valid UTF-8 (escape UTF-8 bytes only)`);
  return decoded.toString('utf8');
}

/** The value of hex digit `c` (a char code), or -1 (also for NaN: past the end of a string). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** True for JSON media types: `application/json`, `text/json`, `*\/*+json` (parameters ignored). */
export function isJsonContentType(ct: string | undefined): boolean {
  if (ct === undefined) return true;
  const semi = ct.indexOf(';');
  const base = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return base === 'application/json' || base === 'text/json' || base.endsWith('+json');
}

/** JSON content types are parsed (TWIN_PAYLOAD_INVALID if they are not JSON); others stay bytes, text stays text. */
export function decodeBytes(bytes: Uint8Array, contentType: string | undefined): unknown {
  if (isJsonContentType(contentType)) {
    try {
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (err) {
      throw new TwinError('TWIN_PAYLOAD_INVALID', `data is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (contentType !== undefined && contentType.toLowerCase().startsWith('text/'))
    return Buffer.from(bytes).toString('utf8');
  return Uint8Array.from(bytes);
}

const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|([+-])(\d\d)(?::?(\d\d))?)$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 400 Gregorian years (146 097 days) in ms: the calendar's cycle. */
const MS_PER_400_YEARS = 146_097 * 86_400_000;

/** The last text parsed and its time; none at first (an initial '' would have made '' read as 0). */
let lastTimeText: string | undefined;
let lastTimeMs = 0;

/**
 * Parses an RFC 3339 timestamp to epoch ms, or throws TWIN_CLOUDEVENT_INVALID. The last
 * result is remembered: a batch or a burst from one device often repeats its timestamp.
 * The HTTP read routes parse their times (`at`, `from`, `to`) with it too, so an event's
 * `time` and a query's time are read by one rule.
 */
export function parseTimestamp(text: string): number {
  if (text === lastTimeText) return lastTimeMs;
  const ms = parseTimestampUncached(text);
  lastTimeText = text;
  lastTimeMs = ms;
  return ms;
}

function parseTimestampUncached(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (m) {
    const y = +m[1]!,
      mo = +m[2]!,
      d = +m[3]!,
      h = +m[4]!,
      mi = +m[5]!,
      s = +m[6]!;
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    const tzH = m[10] ? +m[10] : 0,
      tzM = m[11] ? +m[11] : 0;
    const dayOk = mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && leap ? 29 : DAYS[mo]!);
    if (
      dayOk &&
      tzH <= 23 &&
      tzM <= 59 &&
      ((h <= 23 && mi <= 59 && s <= 59) || isLeapSecond(h, mi, s, m[9] === '-' ? -1 : 1, tzH, tzM))
    ) {
      const frac = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
      const offset = (m[9] === '-' ? -1 : 1) * (tzH * 60 + tzM) * 60_000;
      // Date.UTC reads years 0-99 as 1900-1999 (a two-digit year): those are computed 400
      // years later, where the Gregorian calendar repeats day for day, and moved back.
      const utc =
        y < 100
          ? Date.UTC(y + 400, mo - 1, d, h, mi, s, frac) - MS_PER_400_YEARS
          : Date.UTC(y, mo - 1, d, h, mi, s, frac);
      return utc - offset;
    }
  }
  throw invalid(`"time" is not an RFC 3339 timestamp: ${JSON.stringify(text.slice(0, 40))}`);
}

function isLeapSecond(h: number, mi: number, s: number, sign: number, tzH: number, tzM: number): boolean {
  if (s !== 60) return false;
  const utcMin = mi - tzM * sign;
  const utcHr = h - tzH * sign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1);
}

function pathOf(e: Record<string, unknown>, options: DecodeOptions): string {
  const attr = options.pathAttribute ?? 'subject';
  const v = e[attr];
  if (typeof v === 'string' && v.length > 0) return v;
  if (options.fallbackPath !== undefined) return options.fallbackPath;
  throw invalid(`"${attr}" (the twin path) is required`);
}

function requiredString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw invalid(v === undefined ? `"${name}" is required` : `"${name}" must be a non-empty string`);
  return v;
}

function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw invalid(`"${name}" must be a non-empty string`);
  return v;
}

function isAttributeName(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/** Characters RFC 3986 allows in a URI-reference (besides `%` escapes), as a lookup table. */
const URI_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?#")
  URI_CHARS[c.charCodeAt(0)] = 1;

const sourceCache = new Map<string, boolean>();

/** Sources repeat (one per device or producer), so their verdicts are cached (bounded). */
function isUriReference(s: string): boolean {
  let ok = sourceCache.get(s);
  if (ok === undefined) {
    ok = checkUriReference(s);
    if (sourceCache.size >= 10_000) sourceCache.clear();
    sourceCache.set(s, ok);
  }
  return ok;
}

function checkUriReference(s: string): boolean {
  let hashes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || URI_CHARS[c] !== 1) return false;
    else if (c === 0x23 && ++hashes > 1) return false;
  }
  // A scheme-less reference may not have a colon in its first segment (it would read as a scheme).
  const colon = s.indexOf(':');
  if (colon === 0) return false;
  if (colon > 0 && !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(s.slice(0, colon))) {
    const firstSlash = s.search(/[/?#]/);
    if (firstSlash < 0 || colon < firstSlash) return false;
  }
  return true;
}

function isAbsoluteUri(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(s) && isUriReference(s);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function invalid(reason: string): TwinError {
  return new TwinError('TWIN_CLOUDEVENT_INVALID', `invalid CloudEvent: ${reason}`, { reason });
}
