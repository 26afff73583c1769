/**
 * The Recon data model as plain, immutable-by-convention TypeScript values.
 *
 * Scalars map onto native JS types so that hot paths (lane values, envelope
 * headers) never allocate wrapper objects; only records, and the two
 * "nothing" markers, are objects.
 */

/**
 * The absence of a value (an empty document, a missing body).
 *
 * @example
 * ```ts
 * parseRecon('') === ABSENT; // true
 * ```
 */
export interface Absent {
  readonly kind: 'absent';
}

/**
 * A value that exists but carries no data, e.g. the value of `@clear` or of the slot `a:`.
 *
 * @example
 * ```ts
 * get(parseRecon('{a:}'), 'a') === EXTANT; // true
 * ```
 */
export interface Extant {
  readonly kind: 'extant';
}

/**
 * A Recon value: absent, extant, text, number, boolean, binary data, or a record.
 *
 * @example
 * ```ts
 * const v: Value = record(attr('point'), slot('x', 1), slot('y', 2));
 * ```
 */
export type Value = Absent | Extant | string | number | boolean | Uint8Array | Record;

/**
 * An ordered collection of items: attributes, slots and plain values.
 *
 * @example
 * ```ts
 * const r: Record = { kind: 'record', items: [1, 2, 3] };
 * ```
 */
export interface Record {
  readonly kind: 'record';
  readonly items: readonly Item[];
}

/**
 * A named attribute such as `@update(key:k)`; names are always text.
 *
 * @example
 * ```ts
 * const a: Attr = attr('update', record(slot('key', 'k')));
 * ```
 */
export interface Attr {
  readonly kind: 'attr';
  readonly key: string;
  readonly value: Value;
}

/**
 * A key/value member such as `x:1`; keys may be any value.
 *
 * @example
 * ```ts
 * const s: Slot = slot('x', 1);
 * ```
 */
export interface Slot {
  readonly kind: 'slot';
  readonly key: Value;
  readonly value: Value;
}

/**
 * Anything that can appear inside a record.
 *
 * @example
 * ```ts
 * const items: Item[] = [attr('a'), slot('b', 1), 'c'];
 * ```
 */
export type Item = Attr | Slot | Value;

/**
 * The singleton absent value.
 *
 * @example
 * ```ts
 * body(record(attr('clear'))) === ABSENT; // true
 * ```
 */
export const ABSENT: Absent = Object.freeze({ kind: 'absent' as const });

/**
 * The singleton extant value.
 *
 * @example
 * ```ts
 * attr('clear').value === EXTANT; // true
 * ```
 */
export const EXTANT: Extant = Object.freeze({ kind: 'extant' as const });

/**
 * Maximum nesting of records/attribute arguments accepted by the reader and
 * produced by the writer; bounds recursion so hostile input cannot overflow the stack.
 *
 * @example
 * ```ts
 * parseRecon('{'.repeat(MAX_DEPTH + 1)); // throws ReconSyntaxError
 * ```
 */
export const MAX_DEPTH = 256;

/**
 * Builds a record from items.
 *
 * @example
 * ```ts
 * record(slot('x', 1), 2); // {x:1,2}
 * ```
 */
export function record(...items: Item[]): Record {
  return { kind: 'record', items };
}

/**
 * Builds an attribute; the value defaults to {@link EXTANT}.
 *
 * @example
 * ```ts
 * attr('clear'); // @clear
 * ```
 */
export function attr(key: string, value: Value = EXTANT): Attr {
  return { kind: 'attr', key, value };
}

/**
 * Builds a slot; the value defaults to {@link EXTANT}.
 *
 * @example
 * ```ts
 * slot('lane', 'info'); // lane:info
 * ```
 */
export function slot(key: Value, value: Value = EXTANT): Slot {
  return { kind: 'slot', key, value };
}

/**
 * True for records.
 *
 * @example
 * ```ts
 * isRecord(parseRecon('{}')); // true
 * ```
 */
export function isRecord(item: Item | undefined): item is Record {
  return typeof item === 'object' && !(item instanceof Uint8Array) && item.kind === 'record';
}

/**
 * True for attributes.
 *
 * @example
 * ```ts
 * isAttr(attr('a')); // true
 * ```
 */
export function isAttr(item: Item | undefined): item is Attr {
  return typeof item === 'object' && !(item instanceof Uint8Array) && item.kind === 'attr';
}

/**
 * True for slots.
 *
 * @example
 * ```ts
 * isSlot(slot('a', 1)); // true
 * ```
 */
export function isSlot(item: Item | undefined): item is Slot {
  return typeof item === 'object' && !(item instanceof Uint8Array) && item.kind === 'slot';
}

/**
 * True for items that are values (neither attributes nor slots).
 *
 * @example
 * ```ts
 * isValue(42); // true
 * ```
 */
export function isValue(item: Item | undefined): item is Value {
  return item !== undefined && !isAttr(item) && !isSlot(item);
}

/**
 * Structural equality. Numbers compare with `Object.is` (NaN equals NaN, 0 differs from -0)
 * so that equality is exactly "writes the same Recon".
 *
 * @example
 * ```ts
 * valueEquals(parseRecon('{x:1}'), record(slot('x', 1))); // true
 * ```
 */
export function valueEquals(a: Item, b: Item): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && bytesEqual(a, b);
  }
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'attr':
      return a.key === (b as Attr).key && valueEquals(a.value, (b as Attr).value);
    case 'slot':
      return valueEquals(a.key, (b as Slot).key) && valueEquals(a.value, (b as Slot).value);
    case 'record': {
      const bi = (b as Record).items;
      if (a.items.length !== bi.length) return false;
      for (let i = 0; i < bi.length; i++) {
        if (!valueEquals(a.items[i] as Item, bi[i] as Item)) return false;
      }
      return true;
    }
    default:
      return true; // absent/extant carry no data beyond their kind
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
