/**
 * Canonical compact Recon writer. Every choice below exists so that `parseRecon`
 * (and Swim's own reader) reads the output back to an equal value; see the
 * normalisations in docs/recon.md for the few shapes Recon cannot distinguish.
 */
import { encodeBase64 } from './base64.js';
import { codePointAt, isBareIdent, isIdentChar } from './chars.js';
import { ABSENT, EXTANT, MAX_DEPTH, isAttr, isRecord, isSlot, isValue } from './value.js';
import type { Attr, Item, Record, Value } from './value.js';

/**
 * Writes `value` as canonical compact Recon.
 *
 * ABSENT and a top-level EXTANT write as the empty string; non-finite numbers write as
 * the text `NaN`, `Infinity`, `"-Infinity"` (as Swim does), so they read back as strings.
 *
 * @throws {RangeError} when the output would nest deeper than 256 brackets (e.g. a cyclic
 *   value), since the reader would reject it.
 * @example
 * ```ts
 * writeRecon(record(attr('update', record(slot('key', 'k'))), slot('x', 1))); // '@update(key:k){x:1}'
 * ```
 */
export function writeRecon(value: Value): string {
  return writeValue(value, 0);
}

/** `depth` counts the brackets already open in the output, in the reader's units. */
function writeValue(v: Value, depth: number): string {
  switch (typeof v) {
    case 'string':
      return writeText(v);
    case 'number':
      return writeNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      if (v instanceof Uint8Array) return '%' + encodeBase64(v);
      if (v.kind === 'record') return writeRecord(v, depth);
      return ''; // absent/extant have no literal; context decides how they read back
  }
}

/** Identifier when the reader would give back the same string, else a quoted string. */
export function writeText(s: string): string {
  return isBareIdent(s) ? s : quote(s);
}

function quote(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c < 0x20) esc = controlEscape(c);
    else if (c >= 0xd800 && c <= 0xdfff) {
      // Pairs pass through; lone halves are escaped because UTF-8 transports would mangle them.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\\u' + c.toString(16);
    }
    if (esc !== undefined) {
      out += s.slice(run, i) + esc;
      run = i + 1;
    }
  }
  return out + s.slice(run) + '"';
}

function controlEscape(c: number): string {
  switch (c) {
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    default:
      return '\\u' + c.toString(16).padStart(4, '0');
  }
}

function writeNumber(n: number): string {
  if (Number.isFinite(n)) {
    // -0 needs a fraction: Swim reads "-0" as the integer 0.
    return Object.is(n, -0) ? '-0.0' : String(n);
  }
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '"-Infinity"';
}

/** Opens one more bracket; refusing past the reader's limit also stops cyclic values. */
function open(depth: number): number {
  if (depth >= MAX_DEPTH)
    throw new RangeError(`Recon output would nest deeper than ${MAX_DEPTH} levels (cyclic value?)`);
  return depth + 1;
}

function writeRecord(r: Record, depth: number): string {
  if (r.items.some(isAttr)) return writeAttributed(r.items, depth);
  return '{' + writeMembers(r.items, open(depth)) + '}';
}

/**
 * Records containing attributes are written as a juxtaposed run such as
 * `{x:1}@a 2@b(c)`: inside braces an attribute would become a nested record.
 */
function writeAttributed(items: readonly Item[], depth: number): string {
  let out = '';
  let bareAttr = false; // previous token is an attribute without parentheses
  let i = 0;
  while (i < items.length) {
    const item = items[i] as Item;
    if (isAttr(item)) {
      const a = writeAttr(item, depth);
      out += a;
      bareAttr = a.charCodeAt(a.length - 1) !== 0x29;
      i++;
      continue;
    }
    let j = i;
    while (j < items.length && !isAttr(items[j])) j++;
    const run = items.slice(i, j);
    const only = run[0];
    const text =
      run.length === 1 && isValue(only) && isPlainScalar(only)
        ? writeValue(only, depth)
        : '{' + writeMembers(run, open(depth)) + '}';
    if (bareAttr && isIdentChar(codePointAt(text, 0))) out += ' ';
    out += text;
    bareAttr = false;
    i = j;
  }
  return out;
}

/** A value that reads back as itself when written directly after an attribute. */
function isPlainScalar(v: Value): boolean {
  return v !== ABSENT && v !== EXTANT && !isRecord(v);
}

function writeAttr(a: Attr, depth: number): string {
  const name = isBareIdent(a.key) || a.key === 'true' || a.key === 'false' ? a.key : quote(a.key);
  const v = a.value;
  if (v === EXTANT || v === ABSENT) return '@' + name;
  const inner = open(depth);
  if (isRecord(v) && isBlockSafe(v)) return `@${name}(${writeMembers(v.items, inner)})`;
  return `@${name}(${writeValue(v, inner)})`;
}

/**
 * Whether a record's members can sit directly in `(...)`: a block unwraps a lone value,
 * turns attributes into nested records and has no empty items or empty keys.
 */
function isBlockSafe(r: Record): boolean {
  const n = r.items.length;
  if (n === 0 || (n === 1 && isValue(r.items[0]))) return false;
  for (const item of r.items) {
    if (isAttr(item) || item === EXTANT || item === ABSENT) return false;
    if (isSlot(item) && (item.key === EXTANT || item.key === ABSENT)) return false;
  }
  return true;
}

/** Comma-separated members; a lone or trailing extant item needs an extra comma to survive. */
function writeMembers(items: readonly Item[], depth: number): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    const item = items[i] as Item;
    if (isSlot(item)) out += writeValue(item.key, depth) + ':' + writeValue(item.value, depth);
    else if (isAttr(item))
      out += writeAttr(item, depth); // unreachable from writeRecord; kept total
    else out += writeValue(item, depth);
  }
  const last = items[items.length - 1];
  if (last === EXTANT || last === ABSENT) out += ',';
  return out;
}
