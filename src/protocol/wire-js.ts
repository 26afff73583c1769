/**
 * Lane values and event data as JSON (and Recon) can carry them. The store keeps Maps,
 * Dates and byte arrays unchanged (see store/plain-data.ts, isStorable), so a model may hold
 * them in a lane; `JSON.stringify` does not: a Map became `{}`, bytes an object of indices,
 * and a read, a WARP link or a webhook silently showed something else than the lane holds.
 * Every place a value leaves as JSON or Recon goes through {@link toWireJs}:
 *
 * - a `Map` becomes an object when every key is a string other than `"__proto__"`, else a
 *   list of `[key, value]` pairs (the only JSON shape that keeps a number or object key and
 *   the order). `"__proto__"` as an object key is what JS readers mishandle (a spread or
 *   `Object.assign` sets a prototype instead; msgpackr renames it between nodes), so a Map
 *   holding it is sent as pairs;
 * - a `Date` becomes its ISO 8601 text (what `JSON.stringify` makes of it; an invalid one null);
 * - a `Uint8Array` (a Buffer too) becomes base64 text, or stays bytes with `bytes: 'keep'`
 *   (Recon has a blob type, `%…`);
 * - a `bigint` (the store keeps 64-bit ones) becomes a number when it is a safe integer,
 *   else its decimal text (`JSON.stringify` threw on it: a 500 for the read).
 *
 * A value holding none of these is returned as it is, no copy: the common case costs one
 * walk that allocates nothing. Values nested deeper than {@link MAX_WIRE_DEPTH} are left
 * as they are below that depth (stored state is bounded far above it; event data too).
 * Given `maxVisits`, a walk visits at most that many values, else throws a RangeError: a
 * value that shares a subtree at every level (or holds itself twice) would otherwise take
 * 2^depth steps. Lane state needs no budget (the store bounds each value, see isStorable);
 * derived event data, a model's own object checked by nothing else, does (TurnRunner.emit).
 */

export const MAX_WIRE_DEPTH = 256;

export type WireBytes = 'base64' | 'keep';

/**
 * @example
 * ```ts
 * toWireJs(new Map([['a', 1]]));        // { a: 1 }
 * toWireJs(new Map([[1, 'x']]));        // [[1, 'x']]
 * toWireJs({ at: new Date(0) });        // { at: '1970-01-01T00:00:00.000Z' }
 * toWireJs(Uint8Array.of(1, 2));        // 'AQI='
 * ```
 */
export function toWireJs(value: unknown, bytes: WireBytes = 'base64', maxVisits = Infinity): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? bigintToWire(value) : value;
  visits = 0;
  visitBudget = maxVisits;
  return convert(value, bytes, 0);
}

/** Values visited by the conversion running now, and its budget (conversions never nest: they are synchronous). */
let visits = 0;
let visitBudget = Infinity;

function convert(value: unknown, bytes: WireBytes, depth: number): unknown {
  if (++visits > visitBudget)
    throw new RangeError(`value too large for the wire: more than ${visitBudget} values (shared or cyclic?)`);
  if (typeof value === 'bigint') return bigintToWire(value);
  if (value === null || typeof value !== 'object' || depth >= MAX_WIRE_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = convert(v, bytes, depth + 1);
      if (c !== v) (out ??= value.slice())[i] = c;
    }
    return out ?? value;
  }
  if (value instanceof Map) return mapToWire(value, bytes, depth);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return bytes === 'keep' ? value : base64(value);
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    const c = convert(v, bytes, depth + 1);
    if (c !== v) (out ??= copyObject(value as Record<string, unknown>))[key] = c;
  }
  return out ?? value;
}

function mapToWire(map: Map<unknown, unknown>, bytes: WireBytes, depth: number): unknown {
  let stringKeys = true;
  for (const key of map.keys())
    if (typeof key !== 'string' || key === '__proto__') {
      stringKeys = false;
      break;
    }
  if (!stringKeys) return [...map].map(([k, v]) => [convert(k, bytes, depth + 2), convert(v, bytes, depth + 2)]);
  // No prototype (and no "__proto__" key, see above): keys like "constructor" are plain data.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of map) out[k as string] = convert(v, bytes, depth + 1);
  return out;
}

function bigintToWire(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** Browser-safe (the WARP client shares this module): `btoa` over binary text, in chunks. */
function base64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 0x8000)));
  return btoa(text);
}

/** A shallow copy with the same own enumerable keys, "__proto__" included (as an own property). */
function copyObject(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key in value) if (Object.hasOwn(value, key)) out[key] = value[key];
  return out;
}
