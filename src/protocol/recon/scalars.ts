/**
 * Scanners for Recon scalar tokens (strings, identifiers, numbers, data). Kept apart
 * from the structural reader so each stays small; they share only a cursor.
 */
import { base64Digit, decodeBase64 } from './base64.js';
import { codePointAt, isDigit, isIdentChar } from './chars.js';

/** Minimal view of the reader that the scanners advance. */
export interface Cursor {
  readonly src: string;
  pos: number;
  fail(reason: string, at?: number): never;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Quoted string at `cur.pos` (opening `quote` included); returns its text. */
export function scanString(cur: Cursor, quote: number): string {
  const src = cur.src;
  const start = cur.pos;
  let i = start + 1;
  let run = i;
  let out = '';
  for (;;) {
    if (i >= src.length) cur.fail('unterminated string', start);
    const c = src.charCodeAt(i);
    if (c === quote) {
      cur.pos = i + 1;
      return out + src.slice(run, i);
    }
    if (c === 0x5c) {
      out += src.slice(run, i);
      i = escape(cur, i + 1, (s) => (out += s));
      run = i;
      continue;
    }
    // Raw control characters would make the text depend on transport newline handling.
    if (c < 0x20) cur.fail('control character in string (use an escape)', i);
    i++;
  }
}

/** Decodes the escape whose letter is at `i`; returns the index after it. */
function escape(cur: Cursor, i: number, emit: (s: string) => void): number {
  const src = cur.src;
  const c = src.charCodeAt(i);
  switch (c) {
    case 0x22:
    case 0x27:
    case 0x2f:
    case 0x5c:
    case 0x24:
    case 0x40:
    case 0x5b:
    case 0x5d:
    case 0x7b:
    case 0x7d:
      emit(String.fromCharCode(c));
      return i + 1;
    case 0x62:
      emit('\b');
      return i + 1;
    case 0x66:
      emit('\f');
      return i + 1;
    case 0x6e:
      emit('\n');
      return i + 1;
    case 0x72:
      emit('\r');
      return i + 1;
    case 0x74:
      emit('\t');
      return i + 1;
    case 0x75: {
      let code = 0;
      for (let k = 1; k <= 4; k++) {
        const d = hexDigit(src.charCodeAt(i + k));
        if (d < 0) cur.fail('expected 4 hex digits after \\u', i + k);
        code = code * 16 + d;
      }
      // Surrogate halves are emitted as-is so escaped pairs recombine naturally.
      emit(String.fromCharCode(code));
      return i + 5;
    }
    default:
      if (i >= src.length) cur.fail('unterminated string', i);
      return cur.fail('invalid escape character', i);
  }
}

/** Identifier at `cur.pos` (the caller has checked the start char); returns raw text. */
export function scanIdent(cur: Cursor): string {
  const src = cur.src;
  const start = cur.pos;
  let i = start + (codePointAt(src, start) > 0xffff ? 2 : 1);
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (c < 0x80) {
      if (!isIdentChar(c)) break;
      i++;
    } else {
      const cp = codePointAt(src, i);
      if (!isIdentChar(cp)) break;
      i += cp > 0xffff ? 2 : 1;
    }
  }
  cur.pos = i;
  return src.slice(start, i);
}

/** Decimal (`-12.5e3`) or hexadecimal (`0x1F`, unsigned) number at `cur.pos`. */
export function scanNumber(cur: Cursor): number {
  const src = cur.src;
  const start = cur.pos;
  let i = start;
  if (src.charCodeAt(i) === 0x2d) i++;
  const first = src.charCodeAt(i);
  if (first === 0x30) {
    i++;
    const next = src.charCodeAt(i);
    if (next === 0x78 && i === start + 1) return scanHex(cur, i + 1);
    if (isDigit(next)) cur.fail('leading zeros are not allowed', i);
  } else if (isDigit(first)) {
    while (isDigit(src.charCodeAt(i))) i++;
  } else {
    cur.fail("expected digit after '-'", i);
  }
  if (src.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(src.charCodeAt(i))) cur.fail("expected digit after '.'", i);
    while (isDigit(src.charCodeAt(i))) i++;
  }
  const e = src.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const s = src.charCodeAt(i);
    if (s === 0x2b || s === 0x2d) i++;
    if (!isDigit(src.charCodeAt(i))) cur.fail('expected digit in exponent', i);
    while (isDigit(src.charCodeAt(i))) i++;
  }
  cur.pos = i;
  return Number(src.slice(start, i));
}

function scanHex(cur: Cursor, from: number): number {
  const src = cur.src;
  let i = from;
  while (hexDigit(src.charCodeAt(i)) >= 0) i++;
  if (i === from) cur.fail("expected hex digit after '0x'", i);
  // 64 bits is Swim's widest hex literal; longer ones are almost surely corruption.
  if (i - from > 16) cur.fail('hex literal wider than 64 bits', from);
  cur.pos = i;
  return Number.parseInt(src.slice(from, i), 16);
}

/** `%` followed by standard base64 (padding optional) at `cur.pos`. */
export function scanData(cur: Cursor): Uint8Array {
  const src = cur.src;
  const from = cur.pos + 1;
  let i = from;
  while (base64Digit(src.charCodeAt(i)) >= 0) i++;
  const digits = i - from;
  let pad = 0;
  while (src.charCodeAt(i + pad) === 0x3d) pad++;
  if (pad > 0 && (pad > 2 || (digits + pad) % 4 !== 0)) cur.fail('invalid base64 padding', i);
  const end = i + pad;
  if (pad > 0 && base64Digit(src.charCodeAt(end)) >= 0) cur.fail('base64 data after padding', end);
  const bytes = decodeBase64(src.slice(from, i));
  if (bytes === undefined) cur.fail('truncated base64 data', i);
  cur.pos = end;
  return bytes;
}
