/**
 * True when JSON text nests `[`/`{` (outside strings) deeper than `limit`. Stops at the
 * first level past it; text no longer than `limit` cannot be, and is not scanned.
 *
 * Why a scan before `JSON.parse`: the parse itself takes any depth, but what follows it
 * (re-serialising each envelope, reading a body into Recon values) recurses, and a frame of
 * 100 k `[` overflowed the stack there; the engine's own RangeError then reached the sender.
 *
 * @example
 * ```ts
 * jsonDeeperThan('[[1]]', 1); // true
 * jsonDeeperThan('["[[[["]', 1); // false: brackets in strings do not count
 * ```
 */
export function jsonDeeperThan(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
