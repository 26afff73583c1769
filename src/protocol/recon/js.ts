/**
 * Conversion between Recon values and JSON-like JS values, for application code and
 * the JSON flavour of WARP. The mapping is documented in docs/recon.md; it is lossy
 * only for shapes JSON cannot express (mixed records, duplicate keys, data).
 */
import { ABSENT, EXTANT, MAX_DEPTH, isAttr, isSlot } from './value.js';
import type { Item, Record, Value } from './value.js';

/**
 * Converts a Recon value to plain JS.
 *
 * - ABSENT -> `undefined`, EXTANT -> `null`; text, numbers, booleans and `Uint8Array` as-is.
 * - A record of only attributes and text-keyed slots (unique keys) -> an object; attributes
 *   become `"@name"` keys (so `@update(key:k){v:1}` -> `{"@update":{key:"k"},v:1}`).
 * - A record of only values -> an array; an empty record -> `{}`.
 * - Any other record -> an array in which slots become `{$key, $value}` objects and
 *   attributes `{"@name": value}` objects (not reversed by {@link fromJs}).
 *
 * @throws {RangeError} for values nested deeper than 256 (or cyclic).
 * @example
 * ```ts
 * toJs(parseRecon('{x:1,y:{2,3}}')); // { x: 1, y: [2, 3] }
 * ```
 */
export function toJs(value: Value): unknown {
  return toJsAt(value, 0);
}

function toJsAt(v: Value, depth: number): unknown {
  if (typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (v === ABSENT || v.kind === 'absent') return undefined;
  if (v.kind === 'extant') return null;
  if (depth >= MAX_DEPTH) throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels (cyclic?)`);
  return recordToJs(v, depth + 1);
}

function recordToJs(r: Record, depth: number): unknown {
  const items = r.items;
  if (items.length === 0) return {};
  if (isObjectLike(items)) {
    const obj: { [key: string]: unknown } = {};
    for (const item of items) {
      if (isAttr(item)) define(obj, '@' + item.key, toJsAt(item.value, depth));
      else if (isSlot(item)) define(obj, item.key as string, toJsAt(item.value, depth));
    }
    return obj;
  }
  return items.map((item) => itemToJs(item, depth));
}

function itemToJs(item: Item, depth: number): unknown {
  if (isAttr(item)) return { ['@' + item.key]: toJsAt(item.value, depth) };
  if (isSlot(item)) return { $key: toJsAt(item.key, depth), $value: toJsAt(item.value, depth) };
  return toJsAt(item, depth);
}

/** Object keys that {@link fromJs} turns into attributes. */
function isAttrKey(key: string): boolean {
  return key.length > 1 && key.charCodeAt(0) === 0x40;
}

/** Only fields, every slot key is text that would not read back as an attribute, no repeats. */
function isObjectLike(items: readonly Item[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    let key: string;
    if (isAttr(item)) key = '@' + item.key;
    else if (isSlot(item) && typeof item.key === 'string' && !isAttrKey(item.key)) key = item.key;
    else return false;
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

// Plain assignment of "__proto__" would replace the prototype instead of adding a key.
function define(obj: { [key: string]: unknown }, key: string, value: unknown): void {
  if (value === undefined) return;
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * Converts plain JS (e.g. parsed JSON) to a Recon value.
 *
 * - `undefined` -> ABSENT (skipped as an object property, EXTANT as an array element); `null` -> EXTANT.
 * - strings, numbers, booleans as-is; bigint -> number; `Uint8Array`/`ArrayBuffer` -> data (copied).
 * - arrays -> records of values; plain objects -> records of slots, except keys `"@name"`,
 *   which become attributes (the inverse of {@link toJs}).
 *
 * @throws {TypeError} for functions, symbols and non-plain objects (Date, Map, class instances).
 * @throws {RangeError} for input nested deeper than 256 (or cyclic).
 * @example
 * ```ts
 * writeRecon(fromJs({ '@point': null, x: 1, y: 2 })); // '@point{x:1,y:2}'
 * ```
 */
export function fromJs(js: unknown): Value {
  return fromJsAt(js, 0);
}

function fromJsAt(js: unknown, depth: number): Value {
  switch (typeof js) {
    case 'undefined':
      return ABSENT;
    case 'string':
    case 'number':
    case 'boolean':
      return js;
    case 'bigint':
      return Number(js);
    case 'object':
      break;
    default:
      throw new TypeError(`cannot convert ${typeof js} to Recon`);
  }
  if (js === null) return EXTANT;
  if (js instanceof Uint8Array) return new Uint8Array(js);
  if (js instanceof ArrayBuffer) return new Uint8Array(js.slice(0));
  if (depth >= MAX_DEPTH) throw new RangeError(`input nested deeper than ${MAX_DEPTH} levels (cyclic?)`);
  if (Array.isArray(js)) {
    const items: Item[] = js.map((x: unknown) => (x === undefined ? EXTANT : fromJsAt(x, depth + 1)));
    return { kind: 'record', items };
  }
  const proto: unknown = Object.getPrototypeOf(js);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`cannot convert ${js.constructor?.name ?? 'object'} to Recon`);
  }
  const items: Item[] = [];
  for (const [key, x] of Object.entries(js)) {
    if (x === undefined) continue;
    const value = fromJsAt(x, depth + 1);
    if (isAttrKey(key)) items.push({ kind: 'attr', key: key.slice(1), value });
    else items.push({ kind: 'slot', key, value });
  }
  return { kind: 'record', items };
}
