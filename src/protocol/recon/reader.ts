/**
 * Recursive-descent Recon reader over UTF-16 char codes.
 *
 * Structure follows Swim's block/record/item grammar (see docs/recon.md); the
 * expression, selector and markup sub-languages are deliberately rejected since a
 * data codec must never evaluate peer-supplied code.
 */
import { ReconSyntaxError } from './errors.js';
import { ABSENT, EXTANT, MAX_DEPTH, isValue } from './value.js';
import type { Item, Value } from './value.js';
import { codePointAt, isDigit, isIdentStart, isNewline, isSpace, isWhitespace } from './chars.js';
import { scanData, scanIdent, scanNumber, scanString } from './scalars.js';
import type { Cursor } from './scalars.js';

const EOF = -1;
const AT = 0x40;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LPAREN = 0x28;
const RPAREN = 0x29;
const COLON = 0x3a;
const COMMA = 0x2c;
const SEMI = 0x3b;
const HASH = 0x23;

/**
 * Parses a Recon document. Empty (or whitespace/comment-only) input yields ABSENT;
 * a document holding one value yields that value; several items yield a record.
 *
 * @throws {ReconSyntaxError} on any malformed input, including nesting deeper than 256.
 * @example
 * ```ts
 * parseRecon('@event(node:"/a",lane:b){x:1}');
 * // record(attr('event', record(slot('node','/a'), slot('lane','b'))), slot('x', 1))
 * ```
 */
export function parseRecon(text: string): Value {
  const p = new Reader(text);
  if (text.charCodeAt(0) === 0xfeff) p.pos = 1;
  return p.block(EOF) ?? ABSENT;
}

class Reader implements Cursor {
  readonly src: string;
  pos = 0;
  private depth = 0;

  constructor(src: string) {
    this.src = src;
  }

  fail(reason: string, at: number = this.pos): never {
    throw new ReconSyntaxError(reason, this.src, at);
  }

  /** Human-readable description of the character at `pos`. */
  here(): string {
    if (this.pos >= this.src.length) return 'end of input';
    const cp = codePointAt(this.src, this.pos);
    if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff)) return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    return `'${String.fromCodePoint(cp)}'`;
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.charCodeAt(this.pos) : EOF;
  }

  private skipSpaces(): void {
    while (isSpace(this.src.charCodeAt(this.pos))) this.pos++;
  }

  private skipWhitespace(): void {
    while (isWhitespace(this.src.charCodeAt(this.pos))) this.pos++;
  }

  private skipComment(): void {
    while (this.pos < this.src.length && !isNewline(this.src.charCodeAt(this.pos))) this.pos++;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  }

  /**
   * Items separated by `,` `;` or newlines up to `close` (EOF or `)`), which is not consumed.
   * Returns undefined for an empty block; a lone value is unwrapped, as in Swim.
   */
  block(close: number): Value | undefined {
    const items: Item[] = [];
    for (;;) {
      this.skipWhitespace();
      const c = this.peek();
      if (c === close) break;
      if (c === EOF) this.fail(`unexpected end of input, expected ')'`);
      if (c === HASH) {
        this.skipComment();
        continue;
      }
      this.member(items, false);
      this.skipSpaces();
      const d = this.peek();
      if (d === close) break;
      if (d === COMMA || d === SEMI || isNewline(d)) this.pos++;
      else if (d === HASH) this.skipComment();
      else
        this.fail(`unexpected ${this.here()}, expected ',', ';', newline or ${close === EOF ? 'end of input' : "')'"}`);
    }
    if (items.length === 0) return undefined;
    const only = items[0];
    return items.length === 1 && isValue(only) ? only : { kind: 'record', items };
  }

  /** Record body after `{`, appending to `items` (attributed records share the outer list). */
  private recordInto(items: Item[]): void {
    this.enter();
    this.pos++;
    for (;;) {
      this.skipWhitespace();
      const c = this.peek();
      if (c === RBRACE) break;
      if (c === EOF) this.fail(`unexpected end of input, expected '}'`);
      if (c === HASH) {
        this.skipComment();
        continue;
      }
      this.member(items, true);
      this.skipSpaces();
      const d = this.peek();
      if (d === RBRACE) break;
      if (d === COMMA || d === SEMI || isNewline(d)) this.pos++;
      else if (d === HASH) this.skipComment();
      else this.fail(`unexpected ${this.here()}, expected ',', ';', newline or '}'`);
    }
    this.pos++;
    this.depth--;
  }

  /**
   * One value item or `key:value` slot. Inside braces an empty item before an explicit
   * `,`/`;` is EXTANT (Swim writes `{1,,2}` for [1, extant, 2]).
   */
  private member(items: Item[], allowEmpty: boolean): void {
    const start = this.pos;
    const key = this.item();
    this.skipSpaces();
    if (this.peek() === COLON) {
      this.pos++;
      this.skipSpaces();
      const value = this.item() ?? EXTANT;
      items.push({ kind: 'slot', key: key ?? EXTANT, value });
      return;
    }
    if (key !== undefined) {
      items.push(key);
      return;
    }
    const c = this.peek();
    if (allowEmpty && (c === COMMA || c === SEMI)) items.push(EXTANT);
    else this.fail(`unexpected ${this.here()}, expected a value`, start);
  }

  /**
   * A run of attributes and primaries such as `@a(x) 1 @b {y:2}`; consecutive
   * primaries must be joined by an attribute. Returns undefined if nothing starts here.
   */
  private item(): Value | undefined {
    let items: Item[] | undefined;
    let braced = false;
    for (;;) {
      const c = this.peek();
      if (c === AT) {
        (items ??= []).push(this.attr());
        this.skipSpaces();
        continue;
      }
      if (c === LBRACE) {
        if (items === undefined) {
          items = [];
          braced = true;
        }
        this.recordInto(items);
      } else {
        const v = this.primary(c);
        if (v === undefined) break;
        (items ??= []).push(v);
      }
      this.skipSpaces();
      if (this.peek() !== AT) break;
    }
    if (items === undefined) return undefined;
    const only = items[0];
    return items.length === 1 && !braced && isValue(only) ? only : { kind: 'record', items };
  }

  private attr(): Item {
    this.pos++;
    const c = this.peek();
    let key: string;
    if (c === 0x22 || c === 0x27) key = scanString(this, c);
    else if (c !== EOF && isIdentStart(codePointAt(this.src, this.pos))) key = scanIdent(this);
    else this.fail(`unexpected ${this.here()}, expected attribute name`);
    if (this.peek() !== LPAREN) return { kind: 'attr', key, value: EXTANT };
    this.enter();
    this.pos++;
    const value = this.block(RPAREN) ?? EXTANT;
    this.pos++;
    this.depth--;
    return { kind: 'attr', key, value };
  }

  /** A scalar starting with `c`, or undefined when `c` cannot start a value. */
  private primary(c: number): Value | undefined {
    if (c === 0x22 || c === 0x27) return scanString(this, c);
    if (c === 0x2d || isDigit(c)) return scanNumber(this);
    if (c === 0x25) return scanData(this);
    if (c !== EOF && isIdentStart(codePointAt(this.src, this.pos))) {
      const id = scanIdent(this);
      return id === 'true' ? true : id === 'false' ? false : id;
    }
    if (c === 0x5b) this.fail('markup ([...]) is not supported');
    if (c === 0x60) this.fail('raw strings (`...`) are not supported');
    if (c === 0x24) this.fail('selectors ($...) are not supported');
    if (c === LPAREN || c === 0x21 || c === 0x2b || c === 0x7e) this.fail('expressions are not supported');
    return undefined;
  }
}
