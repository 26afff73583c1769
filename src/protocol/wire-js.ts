/**
 * Lane values and event data as JSON (and Recon) can carry them. The store keeps Maps,
 * Dates and byte arrays unchanged (see store/plain-data.ts, isStorable), so a model may hold
 * them in a lane; `JSON.stringify` does not: a Map became `{}`, bytes an object of indices,
 * and a read, a WARP link or a webhook silently showed something else than the lane holds.
 * Every place a value leaves as JSON or Recon goes through {@link toWireJs}:
 *
 * - a `Map` becomes an object when every key is a string, else a list of `[key, value]`
 *   pairs (the only JSON shape that keeps a number or object key and the order);
 * - a `Date` becomes its ISO 8601 text (what `JSON.stringify` makes of it; an invalid one null);
 * - a `Uint8Array` (a Buffer too) becomes base64 text, or stays bytes with `bytes: 'keep'`
 *   (Recon has a blob type, `%…`).
 *
 * A value holding none of these is returned as it is, no copy: the common case costs one
 * walk that allocates nothing. Values nested deeper than {@link MAX_WIRE_DEPTH} are left
 * as they are below that depth (stored state is bounded far above it; event data too).
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
export function toWireJs(value: unknown, bytes: WireBytes = 'base64'): unknown {
  return convert(value, bytes, 0);
}

function convert(value: unknown, bytes: WireBytes, depth: number): unknown {
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
    if (typeof key !== 'string') {
      stringKeys = false;
      break;
    }
  if (!stringKeys) return [...map].map(([k, v]) => [convert(k, bytes, depth + 2), convert(v, bytes, depth + 2)]);
  // No prototype: a "__proto__" key is an own property like any other, not a prototype change.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of map) out[k as string] = convert(v, bytes, depth + 1);
  return out;
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
