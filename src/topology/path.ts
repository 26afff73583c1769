import { TwinError } from '../errors.js';

/**
 * Longest accepted path, in UTF-8 bytes (the store's keys are UTF-8). A parent keeps a
 * large join's entries under `parent␟lane␟child` keys, which must fit LMDB's key limit
 * (1978 bytes; the store allows itself 1900): two paths and a lane name. A path counted in
 * characters could be three times as long in bytes, and its own record's key did not fit:
 * the read failed inside the store, after it had opened a read snapshot that then stayed
 * pinned while the data file grew.
 */
export const MAX_PATH_BYTES = 900;
/** Most segments a path may have. */
export const MAX_PATH_SEGMENTS = 32;
/** Longest accepted single segment. */
export const MAX_SEGMENT_LENGTH = 128;

const SLASH = 47;

/**
 * A validated, normalised twin address such as `/org/contoso/site/berlin`.
 *
 * Parsed once at the edge, then passed around as a value: the text is canonical
 * (leading slash, no trailing slash, NFC), so two equal paths have equal `text`
 * and the text is safe as a map key. Segments are split lazily because most hot-path
 * uses only need the text.
 *
 * @example
 * ```ts
 * const p = TwinPath.parse('org/contoso/site/berlin/');
 * p.text;            // '/org/contoso/site/berlin'
 * p.parent()?.text;  // '/org/contoso/site'
 * ```
 */
export class TwinPath {
  private segs: readonly string[] | undefined;

  private constructor(
    readonly text: string,
    segments?: readonly string[],
  ) {
    this.segs = segments;
  }

  /** Parses and validates `input`; throws `TWIN_PATH_INVALID` naming the problem. */
  static parse(input: string): TwinPath {
    return new TwinPath(normalisePath(input));
  }

  /** Builds a path from already-valid segments (each is still checked). */
  static of(segments: readonly string[]): TwinPath {
    if (segments.length === 0) throw invalid('', 'a path needs at least one segment');
    for (const s of segments) checkSegment(s, s);
    const text = '/' + segments.join('/');
    if (segments.length > MAX_PATH_SEGMENTS) throw invalid(text, `more than ${MAX_PATH_SEGMENTS} segments`);
    if (utf8Length(text) > MAX_PATH_BYTES) throw tooLong(text);
    return new TwinPath(text, segments.slice());
  }

  get segments(): readonly string[] {
    return (this.segs ??= this.text.slice(1).split('/'));
  }

  get depth(): number {
    return this.segments.length;
  }

  /** The enclosing path, or null at the top level. */
  parent(): TwinPath | null {
    const cut = this.text.lastIndexOf('/');
    return cut <= 0 ? null : new TwinPath(this.text.slice(0, cut));
  }

  /** The first `n` segments as a path (n >= 1). */
  prefix(n: number): TwinPath {
    if (n >= this.depth) return this;
    // Cut the text at the (n+1)-th slash rather than joining segments: one slice, no join.
    let cut = 0;
    for (let i = 0; i < n; i++) cut = this.text.indexOf('/', cut + 1);
    return new TwinPath(this.text.slice(0, cut), this.segments.slice(0, n));
  }

  child(segment: string): TwinPath {
    checkSegment(segment, this.text + '/' + segment);
    return new TwinPath(this.text + '/' + segment);
  }

  /** True when `other` lies strictly below this path. */
  isAncestorOf(other: TwinPath): boolean {
    return (
      other.text.length > this.text.length + 1 &&
      other.text.startsWith(this.text) &&
      other.text.charCodeAt(this.text.length) === SLASH
    );
  }

  equals(other: TwinPath): boolean {
    return this.text === other.text;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }
}

/** Parses a path (shorthand for {@link TwinPath.parse}). */
export function parsePath(input: string): TwinPath {
  return TwinPath.parse(input);
}

/**
 * True when canonical path `path` is `prefix` or under it ('' is above every path), on the
 * text: `/ab` is not under `/a`.
 */
export function atOrUnder(path: string, prefix: string): boolean {
  return (
    prefix === '' ||
    (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === SLASH))
  );
}

/**
 * Returns the canonical text of a path, or throws. Accepts a missing leading slash and
 * one trailing slash (MQTT topics and URLs come that way) but nothing ambiguous.
 */
export function normalisePath(input: string): string {
  if (typeof input !== 'string') throw invalid(String(input), 'a path must be a string');
  let text = input;
  // A UTF-16 unit is at least one UTF-8 byte: longer than the bound in units is too long.
  if (text.length > MAX_PATH_BYTES) throw tooLong(text);
  if (text.charCodeAt(0) !== SLASH) text = '/' + text;
  if (text.length > 1 && text.charCodeAt(text.length - 1) === SLASH) text = text.slice(0, -1);
  if (text.length <= 1) throw invalid(input, 'a path needs at least one segment');
  let ascii = true;
  let segStart = 1;
  let count = 0;
  for (let i = 1; i <= text.length; i++) {
    const c = i === text.length ? SLASH : text.charCodeAt(i);
    if (c === SLASH) {
      checkSegmentRange(text, segStart, i, input);
      if (++count > MAX_PATH_SEGMENTS) throw invalid(input, `more than ${MAX_PATH_SEGMENTS} segments`);
      segStart = i + 1;
    } else if (c < 0x20 || c === 0x7f) {
      throw invalid(input, `control character U+${c.toString(16).padStart(4, '0')} at offset ${i}`);
    } else if (c === 0x2a || c === 0x2b || c === 0x23) {
      throw invalid(input, `'${String.fromCharCode(c)}' is reserved for filters and topics`);
    } else if (c > 0x7f) {
      ascii = false;
    }
  }
  if (ascii) return text;
  const nfc = text.normalize('NFC');
  if (utf8Length(nfc) > MAX_PATH_BYTES) throw tooLong(nfc);
  return nfc;
}

/**
 * Bytes of `s` in UTF-8, as the store encodes it (a lone surrogate as the 3 bytes of
 * U+FFFD). Written out because this module also runs in browsers, which have no Buffer.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function tooLong(text: string): TwinError {
  return invalid(text.slice(0, 64) + '…', `longer than ${MAX_PATH_BYTES} bytes in UTF-8`);
}

function checkSegmentRange(text: string, start: number, end: number, input: string): void {
  const len = end - start;
  if (len === 0) throw invalid(input, 'empty segment');
  if (len > MAX_SEGMENT_LENGTH) throw invalid(input, `segment longer than ${MAX_SEGMENT_LENGTH} characters`);
  if (text.charCodeAt(start) === 0x2e && (len === 1 || (len === 2 && text.charCodeAt(start + 1) === 0x2e))) {
    throw invalid(input, `'${text.slice(start, end)}' segments are not allowed`);
  }
}

function checkSegment(segment: string, context: string): void {
  if (typeof segment !== 'string' || segment.includes('/')) throw invalid(context, 'a segment must not contain "/"');
  normalisePath('/' + segment);
}

function invalid(path: string, reason: string): TwinError {
  return new TwinError('TWIN_PATH_INVALID', `invalid twin path "${path}": ${reason}`, { path, reason });
}
