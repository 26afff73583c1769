const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * How many elements a JSON body's top-level array holds, counted on the bytes without
 * parsing, and giving up as soon as it is known to be more than `limit`. Undefined when the
 * body is not an array.
 *
 * Why not `JSON.parse(body).length`: parsing is the expensive part. A 1 MiB body of `{}`
 * is ~350 k objects, up to a second of the event loop and GC on a busy 2-core machine,
 * spent before the size check could refuse it. This scan touches only the bytes up to the
 * first element past the limit and allocates nothing. It does not validate: a body that is
 * not valid JSON is refused by the parser that runs after it.
 *
 * @example
 * ```ts
 * topLevelItems(Buffer.from('[{}, {"a": [1, 2]}, "x,y"]'), 10); // 3
 * topLevelItems(Buffer.from('[1, 2, 3, 4]'), 2);                 // 3 (more than 2; counting stopped)
 * topLevelItems(Buffer.from('{"subject": "/a"}'), 10);           // undefined
 * ```
 */
export function topLevelItems(body: Uint8Array, limit: number): number | undefined {
  const n = body.length;
  let i = 0;
  while (i < n && isSpace(body[i]!)) i++;
  if (body[i] !== OPEN_ARRAY) return undefined;
  let depth = 0;
  let commas = 0;
  let value = false; // the array holds at least one element
  for (; i < n; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      // Skip the string: commas and brackets inside it are text.
      for (i++; i < n && body[i] !== QUOTE; i++) if (body[i] === BACKSLASH) i++;
      value = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > 1) value = true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (--depth === 0) break;
    } else if (c === COMMA) {
      if (depth === 1 && ++commas >= limit) return commas + 1;
    } else if (depth >= 1 && !isSpace(c)) {
      value = true;
    }
  }
  return value ? commas + 1 : 0;
}
