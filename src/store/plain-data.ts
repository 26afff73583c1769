import { TwinError } from '../errors.js';

/** Nesting a payload may have by default (objects and arrays inside each other). */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64;

/**
 * Nesting a twin's stored state may have (see {@link isStorable}): well past what input may
 * carry (a model may wrap what it received), well short of where the store's encoder runs
 * out of stack (a few thousand levels).
 */
export const MAX_STORED_DEPTH = 200;

/**
 * Values one payload may hold. Decoded JSON never comes near it (a value costs at least a
 * byte and bodies are capped far lower); it stops an embedder's object graph that shares
 * children (`a = [b, b]; b = [c, c]; …`) from costing exponential time here.
 */
const MAX_VALUES = 4_000_000;

/** Why a value was refused, or null. */
type Fault = null | { kind: 'depth' } | { kind: 'values' } | { kind: 'proto' } | { kind: 'type'; what: string };

/**
 * An own `"__proto__"` key (JSON.parse makes one; `for…in` enumerates it). The store's
 * decoder (msgpackr) renames it `"__proto_"` when it reads the object back, so data holding
 * one would be acknowledged and then change across a restart: refused on input
 * ({@link checkPayload}) and in lane state ({@link isStorable}).
 */
const PROTO_KEY = '__proto__';
const PROTO_FAULT: Fault = { kind: 'proto' };

/**
 * Checks that a decoded payload (event `data`, command value) is plain data no deeper than
 * `maxDepth`, or throws `TWIN_PAYLOAD_TOO_DEEP` / `TWIN_EVENT_INVALID`. Every front's input
 * passes here before it is queued for a shard: structured clone (to worker threads) and the
 * store's encoder both recurse, and a few KB of `[[[[…` past a few thousand levels overflows
 * their stack (a crashed process, or a failed group commit that takes other clients'
 * events down with it). Plain data is what JSON, Recon and msgpack carry: null, booleans,
 * numbers, strings, arrays, plain objects, byte arrays (binary CloudEvent data) and dates;
 * no object key may be `"__proto__"` (the store would not read it back: see PROTO_KEY).
 *
 * @example
 * ```ts
 * checkPayload({ value: 21.5 }, 64, 'the event data'); // fine
 * checkPayload(JSON.parse('['.repeat(100) + ']'.repeat(100)), 64, 'data'); // throws TWIN_PAYLOAD_TOO_DEEP
 * ```
 */
export function checkPayload(value: unknown, maxDepth: number, what: string): void {
  const fault = walk(value, maxDepth);
  if (fault === null) return;
  if (fault.kind === 'depth')
    throw new TwinError('TWIN_PAYLOAD_TOO_DEEP', `${what} nests deeper than ${maxDepth} levels`, { maxDepth });
  if (fault.kind === 'values')
    throw new TwinError('TWIN_PAYLOAD_TOO_LARGE', `${what} holds more than ${MAX_VALUES} values`);
  if (fault.kind === 'proto')
    throw new TwinError(
      'TWIN_EVENT_INVALID',
      `${what} has an object key "__proto__", which twinflow does not accept (it cannot be stored faithfully); rename the key`,
    );
  throw new TwinError('TWIN_EVENT_INVALID', `${what} holds ${fault.what}; only plain data is accepted`);
}

/**
 * True when the store gives `value` back as it was: no deeper than `maxDepth` (msgpack's
 * encoder recurses), no symbol, function or bigint past 64 bits, no plain object with an own
 * `"__proto__"` key (the decoder would rename it: see PROTO_KEY), and only the objects the
 * store reads back as they went in: arrays, plain objects, byte arrays (`Uint8Array`,
 * `Buffer`), dates and `Map`s of such values. msgpack writes others as something else: a
 * `Set` or a `RegExp` comes back as an array, a class instance as a plain object, a
 * `Float64Array` as bytes that are not even its own; a twin's state would change across a
 * restart (or a passivation) without anyone being told.
 */
export function isStorable(value: unknown, maxDepth = MAX_STORED_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return scalar(value, false) === null;
  budget = MAX_VALUES;
  unstorable = '';
  return storableObject(value, 1, maxDepth);
}

/** Values {@link isStorable} may still visit (a shared-children graph must not cost exponential time). */
let budget = 0;
/** What the last {@link isStorable} that said false refused, when it was an object's class (for the error). */
let unstorable = '';

/** Byte arrays msgpack reads back as byte arrays (a `Buffer` may come back as a plain `Uint8Array`). */
function isBytes(proto: unknown): boolean {
  return proto === Uint8Array.prototype || proto === Buffer.prototype;
}

function storableValue(v: unknown, depth: number, maxDepth: number): boolean {
  return v !== null && typeof v === 'object' ? storableObject(v, depth + 1, maxDepth) : scalar(v, false) === null;
}

/** A Map's keys and values (the store reads a Map back as a Map). */
function storableMap(node: Map<unknown, unknown>, depth: number, maxDepth: number): boolean {
  for (const [k, v] of node) if (!storableValue(k, depth, maxDepth) || !storableValue(v, depth, maxDepth)) return false;
  return true;
}

/**
 * The walk of {@link isStorable}: recursive, since the recursion is bounded by `maxDepth`
 * (a few hundred frames at most), and allocation-free: it runs whenever a model sets an
 * object into a lane.
 */
function storableObject(node: object, depth: number, maxDepth: number): boolean {
  if (depth > maxDepth || --budget < 0) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (v !== null && typeof v === 'object' ? !storableObject(v, depth + 1, maxDepth) : scalar(v, false) !== null)
        return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(node);
  if (proto !== Object.prototype && proto !== null) {
    if (node instanceof Map && proto === Map.prototype) return storableMap(node, depth, maxDepth);
    if (isBytes(proto) || (node instanceof Date && proto === Date.prototype)) return true;
    unstorable = `a ${(proto as { constructor?: { name?: string } }).constructor?.name || 'non-plain'} object`;
    return false;
  }
  for (const key in node) {
    if (key === PROTO_KEY) return false;
    const v: unknown = (node as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' ? !storableObject(v, depth + 1, maxDepth) : scalar(v, false) !== null)
      return false;
  }
  return true;
}

/** Longest key the store is given, in UTF-8 bytes: LMDB's 1978 less room for separators. */
const MAX_KEY_BYTES = 1900;

/**
 * Throws TWIN_STATE_UNSTORABLE unless the store can take `value` as the state of lane
 * `lane` of the twin at `path` (see {@link isStorable}); for a keyed entry, `key` too, as
 * the store keys it (path, lane and key together). Lanes call it when a model sets them, so
 * the turn that would make a twin's state unstorable fails and rolls back alone (its event
 * gets the error), and no commit shared with other twins can fail on it. Scalars and
 * short keys cost a type check.
 */
export function assertStorable(value: unknown, path: string, lane: string, key?: string): void {
  if (
    key !== undefined &&
    (path.length + lane.length + key.length) * 3 > MAX_KEY_BYTES &&
    Buffer.byteLength(path) + Buffer.byteLength(lane) + Buffer.byteLength(key) + 2 > MAX_KEY_BYTES
  ) {
    throw new TwinError(
      'TWIN_STATE_UNSTORABLE',
      `lane "${lane}" of ${path}: the key makes a stored key longer than ${MAX_KEY_BYTES} bytes`,
      { path, lane },
    );
  }
  if (typeof value === 'object' && value !== null ? isStorable(value) : scalar(value, false) === null) return;
  const why =
    typeof value === 'object' && value !== null && unstorable !== ''
      ? `it holds ${unstorable}, which the store would not give back as it was (plain objects, arrays, byte arrays, dates and Maps of them are kept)`
      : `nested deeper than ${MAX_STORED_DEPTH} levels, an object key "__proto__", or a symbol, function or bigint past 64 bits`;
  throw new TwinError('TWIN_STATE_UNSTORABLE', `lane "${lane}" of ${path}: the value cannot be stored (${why})`, {
    path,
    lane,
  });
}

/**
 * The walk of {@link checkPayload}: iterative (an explicit stack), so it cannot overflow its
 * own stack whatever the input (whose depth is not bounded yet), and allocation-free for the
 * usual flat reading (`{ temperature: 21.5, humidity: 40 }`). Plain objects (no `"__proto__"`
 * key: one string comparison a key), arrays, byte arrays and dates only.
 */
function walk(value: unknown, maxDepth: number): Fault {
  if (value === null || typeof value !== 'object') return scalar(value, true);
  const flat = flatObject(value);
  if (flat !== undefined) return maxDepth < 1 ? { kind: 'depth' } : flat;
  const stack: unknown[] = [value, 1];
  let visited = 0;
  while (stack.length > 0) {
    if (++visited > MAX_VALUES) return { kind: 'values' };
    const depth = stack.pop() as number;
    const node = stack.pop() as object;
    if (depth > maxDepth) return { kind: 'depth' };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const f = push(stack, node[i], depth);
        if (f) return f;
      }
      continue;
    }
    const proto = Object.getPrototypeOf(node);
    if (proto !== Object.prototype && proto !== null) {
      if (isBytes(proto) || (node instanceof Date && proto === Date.prototype)) continue;
      return { kind: 'type', what: `a ${proto?.constructor?.name ?? 'non-plain'} object` };
    }
    for (const key in node) {
      if (key === PROTO_KEY) return PROTO_FAULT;
      const f = push(stack, (node as Record<string, unknown>)[key], depth);
      if (f) return f;
    }
  }
  return null;
}

/**
 * A plain object whose values are all scalars (the usual reading): its fault or null,
 * without allocating. undefined when the value is anything else (walk it).
 */
function flatObject(value: object): Fault | undefined {
  if (Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    return isBytes(proto) || (value instanceof Date && proto === Date.prototype) ? null : undefined;
  for (const key in value) {
    if (key === PROTO_KEY) return PROTO_FAULT;
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object') return undefined;
    const f = scalar(v, true);
    if (f) return f;
  }
  return null;
}

function push(stack: unknown[], child: unknown, depth: number): Fault {
  if (child !== null && typeof child === 'object') {
    stack.push(child, depth + 1);
    return null;
  }
  return scalar(child, true);
}

const MAX_INT64 = 0x7fffffffffffffffn;

/** Input (`strict`) is JSON-like data, so no bigint at all; stored state may hold what msgpack encodes. */
function scalar(value: unknown, strict: boolean): Fault {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') return { kind: 'type', what: `a ${t}` };
  if (t === 'bigint' && (strict || (value as bigint) > MAX_INT64 || (value as bigint) < -MAX_INT64 - 1n))
    return { kind: 'type', what: 'a bigint' };
  return null;
}
