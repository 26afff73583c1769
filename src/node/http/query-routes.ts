import { forbidden } from '../auth/forbidden.js';
import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import { TwinPath } from '../../topology/index.js';
import { decodeCursor, encodeCursor, matchesWhere, parseWhere } from './query.js';
import { integerParam, nameList, queryParams } from './params.js';
import type { Runtime, TwinSnapshot } from '../../runtime/runtime.js';

/** Most twins one page request reads before it answers (with a cursor to go on). */
export const MAX_SCAN = 5000;
const READ_CHUNK = 256;

/** The parameters of `GET /twins`, each read through params.ts: `where` may repeat, the others may not. */
const SINGLE = ['under', 'filter', 'model', 'lanes', 'limit', 'cursor'] as const;
type QueryString = ReturnType<typeof queryParams<(typeof SINGLE)[number], 'where'>>;

/**
 * `GET /twins`: a subtree query. `under` (a path) or `filter` (a wildcard path filter)
 * picks the twins, `model` (comma list) and `where` (repeatable `lane<op>value`) narrow
 * them, `lanes` picks what is returned, `limit` (1–1000, default 100) and `cursor` page
 * through the matches in path order. Answers `{ items, next }`; `next` is null at the end.
 *
 * @example
 * ```ts
 * // the unoccupied rooms of building 41
 * await fetch(`${url}/twins?under=/org/contoso/site/berlin/building/41&model=room&where=occupied=false`);
 * ```
 */
export function queryRoutes(rt: Runtime) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/twins', async (req) => {
      const q = queryParams(req.query, SINGLE, ['where']);
      const filter = subtreeFilter(q);
      const modelList = nameList(q.model, 'model');
      const models = modelList ? new Set(modelList) : null;
      const where = q.where.map(parseWhere);
      const lanes = nameList(q.lanes, 'lanes') ?? null;
      checkNames(rt, models, lanes);
      const limit = integerParam(q.limit, 'limit', { min: 1, max: 1000, fallback: 100 });
      // An empty cursor is refused like any other it did not issue, not read as "first page".
      const after = q.cursor !== undefined ? decodeCursor(q.cursor) : null;

      // Within what the principal may read: other twins are neither listed nor counted toward the limit.
      if (!req.grants.allowsAnywhere('read')) throw forbidden('read', filter);
      let candidates = await rt.listTwins(filter, { within: req.grants.scopes('read') });
      if (models) candidates = candidates.filter((t) => models.has(t.model));
      if (after !== null) candidates = candidates.filter((t) => t.path > after);

      const items: TwinSnapshot[] = [];
      let scanned = 0;
      let last: string | null = null;
      while (scanned < candidates.length && scanned < MAX_SCAN && items.length < limit) {
        const chunk = candidates.slice(scanned, Math.min(scanned + READ_CHUNK, MAX_SCAN, candidates.length));
        // Concurrent reads land in one shard step; twins that fail to read are skipped. Stored
        // twins are started to read (onStart rebuilds transient lanes) and stopped again: a
        // query over a large subtree must not leave its twins live.
        const snaps = await Promise.all(
          chunk.map((t) => rt.read(t.path, undefined, { release: true }).catch(() => null)),
        );
        for (let i = 0; i < snaps.length; i++) {
          scanned++;
          last = chunk[i]!.path;
          const snap = snaps[i];
          if (snap && where.every((w) => matchesWhere(w, snap.lanes))) items.push(pick(snap, lanes));
          if (items.length >= limit) break;
        }
      }
      const more = scanned < candidates.length;
      return { items, next: more && last !== null ? encodeCursor(last) : null };
    });
  };
}

/**
 * The path filter of a query. `under` and `filter` together are refused rather than
 * intersected: a filter can already start with the subtree's path, and one of the two
 * silently winning (as before) hid the other. An empty value is refused, not read as absent.
 */
function subtreeFilter(q: QueryString): string {
  if (q.under !== undefined && q.filter !== undefined) {
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      'give "under" or "filter", not both (a filter can start with the subtree: filter=/org/a/**/room/*)',
    );
  }
  if (q.under === '' || q.filter === '')
    throw new TwinError('TWIN_QUERY_INVALID', `"${q.under === '' ? 'under' : 'filter'}" is empty`);
  if (q.filter !== undefined) return q.filter;
  return q.under !== undefined ? TwinPath.parse(q.under).text + '/**' : '/**';
}

/**
 * Refuses model names no model has and lanes no model of the query has: such a query can
 * only answer nothing (or items without the lane), which looks like "no data" instead of
 * a typo. A lane that some of the models have is fine: items of the others omit it.
 */
function checkNames(rt: Runtime, models: ReadonlySet<string> | null, lanes: readonly string[] | null): void {
  const all = rt.catalog.models;
  const unknown = models ? [...models].filter((m) => !rt.catalog.model(m)) : [];
  if (unknown.length > 0) {
    const some = someNames(unknown);
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `unknown model ${some.text} (models: ${all.map((m) => m.name).join(', ')})`,
      { model: some.names, ...some.count },
    );
  }
  if (!lanes) return;
  const candidates = models ? all.filter((m) => models.has(m.name)) : all;
  const missing = lanes.filter((l) => !candidates.some((m) => m.laneNames.includes(l)));
  if (missing.length > 0) {
    // Every name in `models` is a known one (checked above): a list as long as the catalog's.
    const of = models ? `models ${[...models].join(', ')}` : 'any model';
    const some = someNames(missing);
    throw new TwinError('TWIN_QUERY_INVALID', `no lane ${some.text} in ${of}`, { lanes: some.names, ...some.count });
  }
}

/** Names an error repeats of a list the client sent: the first few, each cut short. */
const SHOWN_NAMES = 5;
const SHOWN_NAME_CHARS = 64;

/**
 * The first {@link SHOWN_NAMES} of `names` (each cut at {@link SHOWN_NAME_CHARS} chars) as
 * text (`"a", "b" (and 7 more)`) and as a list, with the full `count` when some were left
 * out: a refusal of a long `lanes=` or `model=` list must not echo it back whole.
 */
function someNames(names: readonly string[]): { text: string; names: string[]; count: { count?: number } } {
  const shown = names
    .slice(0, SHOWN_NAMES)
    .map((n) => (n.length > SHOWN_NAME_CHARS ? n.slice(0, SHOWN_NAME_CHARS) + '…' : n));
  const more = names.length - shown.length;
  const list = shown.map((n) => `"${n}"`).join(', ');
  return {
    text: more > 0 ? `${list} (and ${more} more)` : list,
    names: shown,
    count: more > 0 ? { count: names.length } : {},
  };
}

function pick(snap: TwinSnapshot, lanes: string[] | null): TwinSnapshot {
  if (!lanes) return snap;
  const out: Record<string, unknown> = {};
  for (const l of lanes) if (Object.prototype.hasOwnProperty.call(snap.lanes, l)) out[l] = snap.lanes[l];
  return { path: snap.path, model: snap.model, lanes: out };
}
