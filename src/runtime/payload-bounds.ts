import { TwinError } from '../errors.js';

/** Nesting a payload may have by default (objects and arrays inside each other). */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64;

/**
 * Values one payload may hold. Decoded JSON never comes near it (a value costs at least a
 * byte and bodies are capped far lower); it stops an embedder's object graph that shares
 * children (`a = [b, b]; b = [c, c]; …`) from costing exponential time here.
 */
const MAX_VALUES = 4_000_000;

/**
 * Checks that a decoded payload (event `data`, command value) is plain data no deeper than
 * `maxDepth`, or throws `TWIN_PAYLOAD_TOO_DEEP` / `TWIN_EVENT_INVALID`. Every front's input
 * passes here before it is queued for a shard: structured clone (to worker threads) and the
 * store's encoder both recurse, and a few KB of `[[[[…` past a few thousand levels overflows
 * their stack (a crashed process, or a failed group commit that takes other clients'
 * events down with it). Plain data is what JSON, Recon and msgpack carry: null, booleans,
 * numbers, strings, arrays, plain objects, byte arrays (binary CloudEvent data) and dates.
 *
 * The walk is iterative over the depth it allows, so the check itself cannot overflow,
 * and it stops at the first fault; a typical reading (`{ value: 21.5 }`) costs one loop.
 *
 * @example
 * ```ts
 * checkPayload({ value: 21.5 }, 64, 'data'); // fine
 * checkPayload(JSON.parse('['.repeat(100) + ']'.repeat(100)), 64, 'data'); // throws TWIN_PAYLOAD_TOO_DEEP
 * ```
 */
export function checkPayload(value: unknown, maxDepth: number, what: string): void {
  if (value === null || typeof value !== 'object') {
    checkScalar(value, what);
    return;
  }
  // Explicit stack of [container, depth]: no recursion, whatever the input.
  const stack: unknown[] = [value, 1];
  let visited = 0;
  while (stack.length > 0) {
    if (++visited > MAX_VALUES) throw new TwinError('TWIN_PAYLOAD_TOO_LARGE', `${what} holds more than ${MAX_VALUES} values`);
    const depth = stack.pop() as number;
    const node = stack.pop() as object;
    if (depth > maxDepth) {
      throw new TwinError('TWIN_PAYLOAD_TOO_DEEP', `${what} nests deeper than ${maxDepth} levels`, { maxDepth });
    }
    if (ArrayBuffer.isView(node) || node instanceof Date) continue;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) push(stack, node[i], depth, what);
      continue;
    }
    const proto = Object.getPrototypeOf(node);
    if (proto !== Object.prototype && proto !== null) {
      throw new TwinError('TWIN_EVENT_INVALID', `${what} holds a ${proto?.constructor?.name ?? 'non-plain'} object; only plain data is accepted`);
    }
    for (const key in node) push(stack, (node as Record<string, unknown>)[key], depth, what);
  }
}

function push(stack: unknown[], child: unknown, depth: number, what: string): void {
  if (child !== null && typeof child === 'object') stack.push(child, depth + 1);
  else checkScalar(child, what);
}

function checkScalar(value: unknown, what: string): void {
  const t = typeof value;
  if (t === 'function' || t === 'symbol' || t === 'bigint') {
    throw new TwinError('TWIN_EVENT_INVALID', `${what} holds a ${t}; only plain data is accepted`);
  }
}
