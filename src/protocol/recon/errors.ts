/**
 * Thrown by {@link parseRecon} for any malformed input. It is the only error the
 * reader throws, so callers can treat it as "bad peer data" without a catch-all.
 *
 * @example
 * ```ts
 * try { parseRecon('{a:1'); } catch (e) {
 *   if (e instanceof ReconSyntaxError) e.line; // 1
 * }
 * ```
 */
export class ReconSyntaxError extends Error {
  override readonly name = 'ReconSyntaxError';
  /** The problem without the position suffix. */
  readonly reason: string;
  /** Zero-based UTF-16 offset of the offending character. */
  readonly offset: number;
  /** One-based line number (CR, LF and CRLF each end a line). */
  readonly line: number;
  /** One-based column, in UTF-16 code units. */
  readonly column: number;

  constructor(reason: string, source: string, offset: number) {
    const { line, column } = lineColumn(source, offset);
    super(`${reason} at line ${line}, column ${column}`);
    this.reason = reason;
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

// Computed only when an error is raised so the happy path never tracks lines.
function lineColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = 0; i < end; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && source.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
