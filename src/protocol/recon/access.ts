/**
 * Navigation over records in Swim's head/body terms, which is how WARP envelopes and
 * map-lane bodies are taken apart and put together.
 */
import { ABSENT, EXTANT, isAttr, isRecord, isSlot, isValue, record, valueEquals } from './value.js';
import type { Item, Record, Value } from './value.js';

/**
 * The value of the first attribute or slot whose key equals `key`, or ABSENT.
 * Mirrors Swim, where attributes and slots are both "fields".
 *
 * @example
 * ```ts
 * get(parseRecon('{x:1}'), 'x'); // 1
 * ```
 */
export function get(value: Value, key: Value): Value {
  if (!isRecord(value)) return ABSENT;
  for (const item of value.items) {
    if (isSlot(item) && valueEquals(item.key, key)) return item.value;
    if (isAttr(item) && item.key === key) return item.value;
  }
  return ABSENT;
}

/**
 * The name of the first item when it is an attribute, else undefined.
 *
 * @example
 * ```ts
 * tag(parseRecon('@event(node:a,lane:b)1')); // 'event'
 * ```
 */
export function tag(value: Value): string | undefined {
  if (!isRecord(value)) return undefined;
  const first = value.items[0];
  return isAttr(first) ? first.key : undefined;
}

/**
 * The first item of a record (ABSENT when empty); a non-record value is its own head.
 *
 * @example
 * ```ts
 * head(parseRecon('@a 1')); // attr('a')
 * ```
 */
export function head(value: Value): Item {
  if (!isRecord(value)) return value;
  return value.items[0] ?? ABSENT;
}

/**
 * Everything after the head. Empty -> ABSENT; a single remaining value is unwrapped
 * (so `@a 1` and `@a{1}` have the same body); otherwise a record of the rest.
 *
 * @example
 * ```ts
 * body(parseRecon('@update(key:k){x:1}')); // {x:1}
 * ```
 */
export function body(value: Value): Value {
  if (!isRecord(value)) return ABSENT;
  const rest = value.items.slice(1);
  if (rest.length === 0) return ABSENT;
  const only = rest[0];
  if (rest.length === 1 && isValue(only)) return only;
  return { kind: 'record', items: rest };
}

/**
 * Builds a record whose {@link body} is `content`: the inverse of head+body.
 * Records with two or more items (or a single field) are spliced in; records that
 * body() would unwrap (empty, or one value) are nested as one item so nothing is lost.
 * ABSENT and EXTANT are both dropped (body() then yields ABSENT), matching how Swim
 * writes an envelope without a payload.
 *
 * @example
 * ```ts
 * withBody(attr('update', record(slot('key', 'k'))), 42); // @update(key:k) 42
 * ```
 */
export function withBody(first: Item, content: Value): Record {
  if (content === ABSENT || content === EXTANT) return record(first);
  if (isRecord(content)) {
    const only = content.items[0];
    const nest = content.items.length === 0 || (content.items.length === 1 && isValue(only));
    if (!nest) return record(first, ...content.items);
  }
  return record(first, content);
}
