/**
 * Lane events (`{type:'value'|'update'|'remove'|'clear'}`) as WARP `@event` bodies and
 * back. Value lanes send the value itself; keyed lanes send Swim's map bodies
 * (`@update(key:k) v`, `@remove(key:k)`, `@clear`). Shared by the server, which encodes,
 * and the client, which decodes, so both ends agree by construction.
 */
import { fromJs, toJs } from '../recon/js.js';
import { ABSENT, EXTANT, type Value } from '../recon/value.js';
import type { LaneEvent } from '../lane-events.js';
import { isMapBody, mapClear, mapRemove, mapUpdate, parseMapBody } from './map-body.js';
import { toWireJs } from '../wire-js.js';

/**
 * The WARP body of a lane event. Maps, dates and bytes in a value are sent as
 * {@link toWireJs} says (bytes as a Recon blob); values that Recon cannot carry (functions,
 * class instances) are sent as their JSON text, so one odd value never breaks a link.
 *
 * @example
 * ```ts
 * writeRecon(laneEventToBody({ type: 'update', key: 'k', value: 1 })); // '@update(key:k)1'
 * ```
 */
export function laneEventToBody(event: LaneEvent): Value {
  switch (event.type) {
    case 'value':
      return jsToValue(event.value);
    case 'update':
      return mapUpdate(event.key, jsToValue(event.value));
    case 'remove':
      return mapRemove(event.key);
    case 'clear':
      return mapClear();
  }
}

/**
 * The lane event an `@event` body describes: map bodies become update/remove/clear
 * (keys as text), anything else a value. An empty body (ABSENT or EXTANT) is `null`,
 * which is how Recon writes a null value.
 *
 * @example
 * ```ts
 * laneEventFromBody(parseRecon('@remove(key:k)')); // { type: 'remove', key: 'k' }
 * laneEventFromBody(21.5);                         // { type: 'value', value: 21.5 }
 * ```
 */
export function laneEventFromBody(body: Value): LaneEvent {
  if (isMapBody(body)) {
    const action = parseMapBody(body);
    switch (action.kind) {
      case 'update':
        return { type: 'update', key: keyText(action.key), value: valueToJs(action.value) };
      case 'remove':
        return { type: 'remove', key: keyText(action.key) };
      case 'clear':
        return { type: 'clear' };
      default:
        // @take/@drop trim a list: twinflow has no list lanes, so pass them on as values.
        return { type: 'value', value: toJs(body) };
    }
  }
  return { type: 'value', value: valueToJs(body) };
}

function valueToJs(v: Value): unknown {
  return v === ABSENT || v === EXTANT ? null : toJs(v);
}

function jsToValue(js: unknown): Value {
  if (js === undefined || js === null) return EXTANT;
  try {
    return fromJs(toWireJs(js, 'keep'));
  } catch {
    return JSON.stringify(toWireJs(js)) ?? EXTANT;
  }
}

function keyText(key: Value): string {
  if (typeof key === 'string') return key;
  const js = toJs(key);
  return typeof js === 'string' ? js : (JSON.stringify(js) ?? '');
}

const RESERVED_JSON = new Set(['update', 'remove', 'clear', 'take', 'drop', '$value']);

/**
 * The JSON `body` of a lane event, written straight from the JS value (no trip through
 * Recon, so `[]` stays `[]`; Maps, dates and bytes as {@link toWireJs} says). Map events use the shapes of the JSON encoding
 * (`{"update":{"key":k,"value":v}}`, `{"remove":{"key":k}}`, `{"clear":true}`); a value
 * that looks like one of those is wrapped as `{"$value":v}`.
 *
 * @example
 * ```ts
 * laneEventToJson({ type: 'value', value: [] });            // []
 * laneEventToJson({ type: 'remove', key: 'k' });             // { remove: { key: 'k' } }
 * ```
 */
export function laneEventToJson(event: LaneEvent): unknown {
  switch (event.type) {
    case 'value':
      return escapeJson(toWireJs(event.value));
    case 'update':
      return { update: { key: event.key, value: toWireJs(event.value) ?? null } };
    case 'remove':
      return { remove: { key: event.key } };
    case 'clear':
      return { clear: true };
  }
}

/**
 * Reverses {@link laneEventToJson}. A missing body (`undefined`) is a `null` value.
 *
 * @example
 * ```ts
 * laneEventFromJson({ update: { key: 'k', value: 1 } }); // { type: 'update', key: 'k', value: 1 }
 * ```
 */
export function laneEventFromJson(body: unknown): LaneEvent {
  const only = singleKey(body);
  const inner = only === undefined ? undefined : (body as Record<string, unknown>)[only];
  const key = (inner as { key?: unknown } | null)?.key;
  switch (only) {
    case 'update':
      return {
        type: 'update',
        key: typeof key === 'string' ? key : (JSON.stringify(key) ?? ''),
        value: (inner as { value?: unknown }).value ?? null,
      };
    case 'remove':
      return { type: 'remove', key: typeof key === 'string' ? key : (JSON.stringify(key) ?? '') };
    case 'clear':
      return { type: 'clear' };
    case '$value':
      return { type: 'value', value: inner ?? null };
    default:
      return { type: 'value', value: body ?? null };
  }
}

function escapeJson(value: unknown): unknown {
  if (value === undefined) return null;
  const only = singleKey(value);
  return only === undefined ? value : { $value: value };
}

/** The key of a plain object with exactly one key among the reserved ones. */
function singleKey(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && RESERVED_JSON.has(keys[0]!) ? keys[0] : undefined;
}
