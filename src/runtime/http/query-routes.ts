import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import { TwinPath } from '../../topology/index.js';
import { decodeCursor, encodeCursor, matchesWhere, parseWhere } from '../query.js';
import type { Runtime, TwinSnapshot } from '../runtime.js';

/** Most twins one page request reads before it answers (with a cursor to go on). */
export const MAX_SCAN = 5000;
const READ_CHUNK = 256;

interface QueryString {
  under?: string;
  filter?: string;
  model?: string;
  where?: string | string[];
  lanes?: string;
  limit?: string;
  cursor?: string;
}

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
    app.get<{ Querystring: QueryString }>('/twins', async (req) => {
      const q = req.query;
      const filter = q.filter ?? (q.under ? TwinPath.parse(q.under).text + '/**' : '/**');
      const models = q.model ? new Set(q.model.split(',').filter(Boolean)) : null;
      const where = (Array.isArray(q.where) ? q.where : q.where ? [q.where] : []).map(parseWhere);
      const lanes = q.lanes ? q.lanes.split(',').filter(Boolean) : null;
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new TwinError('TWIN_QUERY_INVALID', `limit must be an integer 1..1000, got ${q.limit}`);
      }
      const after = q.cursor ? decodeCursor(q.cursor) : null;

      let candidates = await rt.listTwins(filter);
      if (models) candidates = candidates.filter((t) => models.has(t.model));
      if (after !== null) candidates = candidates.filter((t) => t.path > after);

      const items: TwinSnapshot[] = [];
      let scanned = 0;
      let last: string | null = null;
      while (scanned < candidates.length && scanned < MAX_SCAN && items.length < limit) {
        const chunk = candidates.slice(scanned, Math.min(scanned + READ_CHUNK, MAX_SCAN, candidates.length));
        // Concurrent reads land in one shard step; twins that fail to read are skipped.
        const snaps = await Promise.all(chunk.map((t) => rt.read(t.path).catch(() => null)));
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

function pick(snap: TwinSnapshot, lanes: string[] | null): TwinSnapshot {
  if (!lanes) return snap;
  const out: Record<string, unknown> = {};
  for (const l of lanes) if (Object.prototype.hasOwnProperty.call(snap.lanes, l)) out[l] = snap.lanes[l];
  return { path: snap.path, model: snap.model, lanes: out };
}
