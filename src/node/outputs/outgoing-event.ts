import type { DerivedEvent } from '../../model/twin-model.js';

/** Characters kept as they are in a `source` (RFC 3986 characters of a URI-reference but `%` and `#`). */
const SOURCE_KEPT = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?")
  SOURCE_KEPT[c.charCodeAt(0)] = 1;

/**
 * A derived event as every sink sends it, one rule for all: a CloudEvent whose `source`
 * is a URI-reference, as CloudEvents requires. The source is the twin's path, which may
 * hold any Unicode, so it is sent as it is when it is a URI-reference (ASCII paths of URI
 * characters: the same event object) and otherwise with the rest (and `%`, `#`)
 * percent-encoded as UTF-8. The MQTT sink once sent the raw path, the webhook the encoded
 * one: a non-ASCII twin's outputs had two sources.
 *
 * @example
 * ```ts
 * outgoingEvent({ ...event, source: '/org/ä' }).source; // '/org/%C3%A4'
 * ```
 */
export function outgoingEvent(event: DerivedEvent): DerivedEvent {
  const source = percentEncoded(event.source, SOURCE_KEPT);
  return source === event.source ? event : { ...event, source };
}

/**
 * `value` with every character outside `kept` (a table of ASCII codes, 1 = kept) written
 * as the `%XX` escapes of its UTF-8 bytes; the same string when nothing needs escaping
 * (the usual, ASCII case).
 *
 * @example
 * ```ts
 * percentEncoded('/org/ä b', HEADER_KEPT); // '/org/%C3%A4%20b'
 * ```
 */
export function percentEncoded(value: string, kept: Uint8Array): string {
  let i = 0;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c >= 128 || kept[c] !== 1) break;
    i++;
  }
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (const ch of value.slice(i)) {
    const c = ch.charCodeAt(0);
    if (c < 128 && kept[c] === 1) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return out;
}

const HEX = '0123456789ABCDEF';
