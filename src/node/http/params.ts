import { TwinError } from '../../errors.js';
import { parseTimestamp } from '../ingest/cloudevent.js';

/**
 * Reading query parameters, one rule for every read route (`GET /twins`, `GET /twins/{path}`,
 * `…/history`). fastify hands a parameter given twice to the handler as an array: typed as a
 * string, it reached `.split` or `.trim` (500) or a parser that named something else.
 * {@link queryParams} is the only way those routes read their query: a parameter named as
 * single and given more than once is refused, naming it, before any is used.
 */

/** The query of a request as fastify parses it: a value per name, an array for a repeated name. */
type RawQuery = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The parameters `single` (each at most once: its text, or undefined when absent) and
 * `repeatable` (each any number of times: its values in order, [] when absent). Other
 * names are ignored, as before.
 *
 * @throws {TwinError} `TWIN_QUERY_INVALID` naming a single parameter given more than once.
 * @example
 * ```ts
 * const q = queryParams(req.query, ['lanes', 'limit'], ['where']);
 * q.lanes; // 'a,b' | undefined
 * q.where; // ['temperature>22']
 * ```
 */
export function queryParams<S extends string, R extends string = never>(
  query: unknown,
  single: readonly S[],
  repeatable: readonly R[] = [],
): { readonly [K in S]?: string } & { readonly [K in R]: readonly string[] } {
  const raw = (query ?? {}) as RawQuery;
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const name of single) {
    const v = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (Array.isArray(v))
      throw new TwinError('TWIN_QUERY_INVALID', `"${name}" may be given once, got it ${v.length} times`, {
        parameter: name,
      });
    out[name] = v;
  }
  for (const name of repeatable) {
    const v = Object.hasOwn(raw, name) ? raw[name] : undefined;
    out[name] = v === undefined ? [] : Array.isArray(v) ? v : [v];
  }
  return out as { readonly [K in S]?: string } & { readonly [K in R]: readonly string[] };
}

/** Text of a refused value in a message: the client's own, cut short. */
function shown(raw: string): string {
  return JSON.stringify(raw.length > 64 ? raw.slice(0, 64) + '…' : raw);
}

/**
 * A comma-separated list of names (`lanes=a,b`, `model=room,floor`), or undefined when
 * absent. An empty value or an empty item (`lanes=`, `lanes=a,,b`, `model=,`) is refused:
 * read as "absent" it meant every lane, dropped it meant none (`lanes=,,,` answered `{}`),
 * and neither is what the sender wrote.
 *
 * @throws {TwinError} `TWIN_QUERY_INVALID` naming the parameter.
 */
export function nameList(raw: string | undefined, name: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',');
  if (names.some((n) => n === ''))
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `"${name}" must be comma-separated names without empty ones (leave it out for all), got ${shown(raw)}`,
      { parameter: name },
    );
  return names;
}

/**
 * A decimal integer within `[min, max]`, `fallback` when absent. Only digits: `0x10`,
 * `1e3`, `1.0`, ` 5` or `+5` (which `Number` reads) are refused, so a limit means what it
 * says in every client's eyes.
 *
 * @throws {TwinError} `TWIN_QUERY_INVALID` naming the parameter and the range.
 */
export function integerParam(
  raw: string | undefined,
  name: string,
  range: { min: number; max: number; fallback: number },
): number {
  if (raw === undefined) return range.fallback;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= range.min && n <= range.max))
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `"${name}" must be a decimal integer from ${range.min} to ${range.max}, got ${shown(raw)}`,
      { parameter: name },
    );
  return n;
}

/** The largest time a JavaScript Date holds (ms): a later "epoch ms" names no time. */
const MAX_DATE_MS = 8_640_000_000_000_000;

/**
 * A time: epoch ms as a decimal integer (`1767225600000`), or an RFC 3339 timestamp with
 * its offset (`2026-01-01T00:00:00Z`, `…+01:00`), read by the parser of CloudEvents'
 * `time`. Undefined when absent; anything else (an empty value, `March 7`, `1.5`, `-5`,
 * `2026-02-30T…`, a time without an offset) is refused: `Date.parse` read such text as some
 * other date, or in the server's own time zone.
 *
 * @throws {TwinError} `TWIN_QUERY_INVALID` naming the parameter.
 * @example
 * ```ts
 * timeParam('2026-01-01T00:00:00Z', 'at'); // 1767225600000
 * timeParam('1767225600000', 'at');        // 1767225600000
 * ```
 */
export function timeParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  let ms = NaN;
  if (/^\d{1,16}$/.test(raw)) ms = Number(raw);
  else {
    try {
      ms = parseTimestamp(raw);
    } catch {
      // refused below, in this parameter's words
    }
  }
  if (!(Math.abs(ms) <= MAX_DATE_MS))
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `"${name}" must be epoch ms (a decimal integer) or an RFC 3339 time such as 2026-01-01T00:00:00Z, got ${shown(raw)}`,
      { parameter: name },
    );
  return ms;
}
