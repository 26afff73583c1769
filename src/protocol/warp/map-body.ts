/**
 * Bodies of map-lane events and commands: `@update(key:K) V`, `@remove(key:K)`,
 * `@clear`, and Swim's window operations `@take(n)` / `@drop(n)`.
 */
import { ABSENT, attr, isAttr, isRecord, isSlot, record, slot } from '../recon/value.js';
import type { Value } from '../recon/value.js';
import { body as bodyOf, tag as tagOf, withBody } from '../recon/access.js';
import { WarpProtocolError } from './errors.js';

/**
 * A decoded map-lane body.
 *
 * @example
 * ```ts
 * const a: MapAction = { kind: 'update', key: 'k', value: record(slot('x', 1)) };
 * ```
 */
export type MapAction =
  | { readonly kind: 'update'; readonly key: Value; readonly value: Value }
  | { readonly kind: 'remove'; readonly key: Value }
  | { readonly kind: 'clear' }
  | { readonly kind: 'take'; readonly count: number }
  | { readonly kind: 'drop'; readonly count: number };

/**
 * The map-action names, i.e. the attribute tags a map body can start with.
 *
 * @example
 * ```ts
 * MAP_ACTIONS.includes('clear'); // true
 * ```
 */
export const MAP_ACTIONS: readonly MapAction['kind'][] = ['update', 'remove', 'clear', 'take', 'drop'];

/**
 * Encodes a map action as a Recon body.
 *
 * @throws {WarpProtocolError} if a take/drop count is not a non-negative integer.
 * @example
 * ```ts
 * writeRecon(writeMapBody({ kind: 'update', key: 'k', value: 42 })); // '@update(key:k) 42'
 * ```
 */
export function writeMapBody(action: MapAction): Value {
  switch (action.kind) {
    case 'update':
      return withBody(attr('update', record(slot('key', action.key))), action.value);
    case 'remove':
      return record(attr('remove', record(slot('key', action.key))));
    case 'clear':
      return record(attr('clear'));
    case 'take':
    case 'drop':
      checkCount(action.kind, action.count);
      return record(attr(action.kind, action.count));
    default:
      throw new WarpProtocolError(`unknown map action ${String((action as { kind: unknown }).kind)}`);
  }
}

/**
 * Shorthand for `writeMapBody({ kind: 'update', key, value })`.
 *
 * @example
 * ```ts
 * mapUpdate('k', 42); // @update(key:k) 42
 * ```
 */
export function mapUpdate(key: Value, value: Value): Value {
  return writeMapBody({ kind: 'update', key, value });
}

/**
 * Shorthand for `writeMapBody({ kind: 'remove', key })`.
 *
 * @example
 * ```ts
 * mapRemove('k'); // @remove(key:k)
 * ```
 */
export function mapRemove(key: Value): Value {
  return writeMapBody({ kind: 'remove', key });
}

/**
 * Shorthand for `writeMapBody({ kind: 'clear' })`.
 *
 * @example
 * ```ts
 * mapClear(); // @clear
 * ```
 */
export function mapClear(): Value {
  return record(attr('clear'));
}

/**
 * True when `body` starts with a map-action tag (it may still be malformed).
 *
 * @example
 * ```ts
 * isMapBody(parseRecon('@clear')); // true
 * ```
 */
export function isMapBody(body: Value): boolean {
  const t = tagOf(body);
  return t !== undefined && (MAP_ACTIONS as readonly string[]).includes(t);
}

/**
 * Decodes a map-lane body. An update without a value yields `value: ABSENT`.
 *
 * @throws {WarpProtocolError} for other tags, a missing `key`, or a bad take/drop count.
 * @example
 * ```ts
 * parseMapBody(parseRecon('@update(key:k){x:1}')); // { kind: 'update', key: 'k', value: {x:1} }
 * ```
 */
export function parseMapBody(body: Value): MapAction {
  const first = isRecord(body) ? body.items[0] : undefined;
  const t = isAttr(first) ? first.key : undefined;
  const args = isAttr(first) ? first.value : ABSENT;
  switch (t) {
    case 'update':
      return { kind: 'update', key: keyOf(t, args), value: bodyOf(body) };
    case 'remove':
      return { kind: 'remove', key: keyOf(t, args) };
    case 'clear':
      return { kind: 'clear' };
    case 'take':
    case 'drop':
      return { kind: t, count: checkCount(t, args) };
    default:
      throw new WarpProtocolError(
        t === undefined
          ? 'map body must start with @update, @remove, @clear, @take or @drop'
          : `unknown map action @${t}`,
      );
  }
}

function keyOf(t: string, args: Value): Value {
  if (isRecord(args)) {
    for (const item of args.items) if (isSlot(item) && item.key === 'key') return item.value;
  }
  throw new WarpProtocolError(`@${t} map body is missing its key header`);
}

function checkCount(t: string, n: Value): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new WarpProtocolError(`@${t} count must be a non-negative integer`);
  }
  return n;
}
