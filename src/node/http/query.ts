import { TwinError } from '../../errors.js';
import { jsonEquals } from '../../lanes/equality.js';

/**
 * One condition of a subtree query on a lane value: `temperature>22`, `occupied=false`,
 * `hvac!=null`, `model=room` is not one (that is its own parameter).
 *
 * @example
 * ```ts
 * const w = parseWhere('temperature>=22.5'); // { lane: 'temperature', op: '>=', value: 22.5 }
 * matchesWhere(w, { temperature: 23 });       // true
 * ```
 */
export interface WhereClause {
  readonly lane: string;
  readonly op: '=' | '!=' | '>' | '>=' | '<' | '<=';
  readonly value: unknown;
}

const CLAUSE = /^([A-Za-z_$][\w$-]*)\s*(>=|<=|!=|=|>|<)\s*(.*)$/s;

/**
 * Parses `lane<op>value`. The value is read as JSON when it is JSON (`22`, `false`,
 * `null`, `"x"`, `[1]`), else as plain text (`cool`).
 *
 * @throws {TwinError} `TWIN_QUERY_INVALID` naming the clause.
 * @example
 * ```ts
 * parseWhere('hvac=cool'); // { lane: 'hvac', op: '=', value: 'cool' }
 * ```
 */
export function parseWhere(text: string): WhereClause {
  const m = CLAUSE.exec(text);
  if (!m) {
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `where clause "${text}" must look like lane=value, lane>value, lane<=value …`,
      { where: text },
    );
  }
  const raw = m[3]!.trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // plain text
  }
  return { lane: m[1]!, op: m[2] as WhereClause['op'], value };
}

/**
 * True when a twin's lanes satisfy the clause. A twin without the lane never matches;
 * order comparisons need two numbers or two strings.
 *
 * @example
 * ```ts
 * matchesWhere(parseWhere('occupied=false'), { occupied: false }); // true
 * ```
 */
export function matchesWhere(clause: WhereClause, lanes: Readonly<Record<string, unknown>>): boolean {
  if (!Object.prototype.hasOwnProperty.call(lanes, clause.lane)) return false;
  const actual = lanes[clause.lane];
  const expected = clause.value;
  switch (clause.op) {
    case '=':
      return jsonEquals(actual, expected);
    case '!=':
      return !jsonEquals(actual, expected);
  }
  const comparable =
    (typeof actual === 'number' && typeof expected === 'number') ||
    (typeof actual === 'string' && typeof expected === 'string');
  if (!comparable) return false;
  const a = actual;
  const b = expected;
  switch (clause.op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    default:
      return a <= b;
  }
}

/**
 * Opaque pagination cursors: the last path a page examined, base64url-encoded so clients
 * treat it as a token rather than build their own.
 *
 * @example
 * ```ts
 * decodeCursor(encodeCursor('/org/a')); // '/org/a'
 * ```
 */
export function encodeCursor(path: string): string {
  return Buffer.from(path, 'utf8').toString('base64url');
}

/** Reverses {@link encodeCursor}; throws `TWIN_QUERY_INVALID` for a cursor it did not make. */
export function decodeCursor(cursor: string): string {
  const path = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!path.startsWith('/'))
    throw new TwinError('TWIN_QUERY_INVALID', 'cursor is not one this server issued', { cursor });
  return path;
}

/**
 * `GET /twins/{path}/history` cursors: a journal position (see Runtime.history), base64url
 * like {@link encodeCursor}'s paths. Whether a decoded cursor is a position is the
 * runtime's check, made before the store reads from it.
 *
 * @example
 * ```ts
 * decodeHistoryCursor(encodeHistoryCursor(page.next)); // page.next
 * ```
 */
export function encodeHistoryCursor(position: string): string {
  return Buffer.from(position, 'latin1').toString('base64url');
}

/** Reverses {@link encodeHistoryCursor}. */
export function decodeHistoryCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('latin1');
}
