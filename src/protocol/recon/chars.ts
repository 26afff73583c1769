/**
 * Character classes of the Recon grammar, shared by reader and writer so that the
 * writer leaves an identifier unquoted exactly when the reader would accept it.
 * The identifier ranges follow Swim's (XML-name-like) definition.
 */

/** Space or tab: the only whitespace allowed inside an item. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** LF or CR: act as item separators in blocks and records. */
export function isNewline(c: number): boolean {
  return c === 0x0a || c === 0x0d;
}

export function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Code point `cp` may begin an identifier. */
export function isIdentStart(cp: number): boolean {
  if (cp < 0x80) {
    return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f;
  }
  return (
    (cp >= 0xc0 && cp <= 0xd6) ||
    (cp >= 0xd8 && cp <= 0xf6) ||
    (cp >= 0xf8 && cp <= 0x2ff) ||
    (cp >= 0x370 && cp <= 0x37d) ||
    (cp >= 0x37f && cp <= 0x1fff) ||
    (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2070 && cp <= 0x218f) ||
    (cp >= 0x2c00 && cp <= 0x2fef) ||
    (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) ||
    (cp >= 0xfdf0 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0xeffff)
  );
}

/** Code point `cp` may continue an identifier (adds digits, `-`, and combining ranges). */
export function isIdentChar(cp: number): boolean {
  if (cp < 0x80) {
    return (
      (cp >= 0x61 && cp <= 0x7a) ||
      (cp >= 0x41 && cp <= 0x5a) ||
      (cp >= 0x30 && cp <= 0x39) ||
      cp === 0x5f ||
      cp === 0x2d
    );
  }
  return (
    cp === 0xb7 ||
    (cp >= 0xc0 && cp <= 0xd6) ||
    (cp >= 0xd8 && cp <= 0xf6) ||
    (cp >= 0xf8 && cp <= 0x37d) ||
    (cp >= 0x37f && cp <= 0x1fff) ||
    (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x203f && cp <= 0x2040) ||
    (cp >= 0x2070 && cp <= 0x218f) ||
    (cp >= 0x2c00 && cp <= 0x2fef) ||
    (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) ||
    (cp >= 0xfdf0 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0xeffff)
  );
}

/** Code point at `i`, combining a well-formed surrogate pair; NaN past the end. */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/**
 * True when `s` can be written bare: a non-empty identifier that the reader
 * would not turn into a boolean.
 */
export function isBareIdent(s: string): boolean {
  if (s.length === 0 || s === 'true' || s === 'false') return false;
  let i = 0;
  const first = codePointAt(s, 0);
  if (!isIdentStart(first)) return false;
  i += first > 0xffff ? 2 : 1;
  while (i < s.length) {
    const cp = codePointAt(s, i);
    if (!isIdentChar(cp)) return false;
    i += cp > 0xffff ? 2 : 1;
  }
  return true;
}
