import type { FastifyInstance } from 'fastify';
import { needAdmin } from './access-hook.js';
import { TwinError } from '../../errors.js';
import type { DeadLetterOrigin, DeadLetterStore } from '../ingest/dead-letters.js';

const ORIGINS = new Set<DeadLetterOrigin>(['mqtt', 'http', 'output']);

/**
 * `GET /dead-letters[?limit=100][&origin=mqtt|http|output]`: the newest dead letters
 * first, with `{ total, evicted, items }` (total ever recorded, and how many the bound
 * has pushed out).
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/dead-letters?origin=mqtt&limit=10`)).json();
 * ```
 */
export function deadLetterRoutes(store: DeadLetterStore) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { limit?: string; origin?: string } }>('/dead-letters', async (req) => {
      needAdmin(req); // dead letters hold any twin's payloads
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new TwinError('TWIN_QUERY_INVALID', '"limit" must be an integer from 1 to 10000');
      const origin = req.query.origin;
      if (origin !== undefined && !ORIGINS.has(origin as DeadLetterOrigin))
        throw new TwinError('TWIN_QUERY_INVALID', '"origin" must be mqtt, http or output');
      const { total, evicted } = store.counts();
      return { total, evicted, items: store.list({ limit, origin: origin as DeadLetterOrigin | undefined }) };
    });
  };
}
