import { needRight } from './access-hook.js';
import { warmPrefix, warmUnder } from './warm-routes.js';
import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import { TwinPath } from '../../topology/index.js';
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from '../../runtime/journal-reads.js';
import type { Runtime, TwinSnapshot } from '../../runtime/runtime.js';
import { integerParam, nameList, queryParams, timeParam } from './params.js';
import { decodeHistoryCursor, encodeHistoryCursor } from './query.js';

/**
 * `GET /twins/{path}[?lanes=a,b][&at=T]` reads a twin (as of time T with `at`, from the
 * journal); `GET /twins/{path}/history?from=T&to=T[&limit=n][&cursor=c]` lists a page of its
 * journaled turns (`next` is the cursor of the following page);
 * `POST /twins/{path}/commands/{lane}` sends the JSON body as a command (an `Idempotency-Key`
 * header makes a retry with the same key apply once) and answers 202
 * once its effects are committed; `POST /twins/{path}/warm` starts the stored twins at and
 * under the path that are not live (`Runtime.warm`), `POST /twins/warm` all of them
 * (unless `warm` is false: a node with an admin listener serves them there, see warmRoutes).
 * Times are epoch ms or RFC 3339; every query parameter is read through params.ts (once
 * each, strictly).
 */
export function twinRoutes(rt: Runtime, options: { warm?: boolean } = {}) {
  const servesWarm = options.warm !== false;
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { '*': string } }>('/twins/*', async (req) => {
      const raw = req.params['*'];
      const history = /^(.*)\/history$/.exec(raw);
      // "…/history" is the history of the twin above it, unless a model is routed to the full path.
      if (history && !rt.isRouted(raw) && rt.isRouted(history[1]!)) {
        needRight(req, 'read', history[1]!);
        const q = queryParams(req.query, ['from', 'to', 'limit', 'cursor']);
        const from = timeParam(q.from, 'from') ?? 0;
        const to = timeParam(q.to, 'to') ?? Number.MAX_SAFE_INTEGER;
        if (from > to)
          throw new TwinError(
            'TWIN_QUERY_INVALID',
            `"from" must be <= "to", got from=${q.from ?? from} to=${q.to ?? to}`,
            { from, to },
          );
        const limit = integerParam(q.limit, 'limit', {
          min: 1,
          max: MAX_HISTORY_LIMIT,
          fallback: DEFAULT_HISTORY_LIMIT,
        });
        const page = await rt.history(history[1]!, {
          from,
          to,
          limit,
          ...(q.cursor !== undefined && { cursor: decodeHistoryCursor(q.cursor) }),
        });
        return {
          path: '/' + history[1]!.replace(/^\//, ''),
          from,
          to,
          entries: page.entries,
          next: page.next === null ? null : encodeHistoryCursor(page.next),
        };
      }
      needRight(req, 'read', raw);
      const q = queryParams(req.query, ['lanes', 'at']);
      const lanes = nameList(q.lanes, 'lanes');
      const at = timeParam(q.at, 'at');
      if (at === undefined) return rt.read(raw, lanes);
      const then = await rt.readAt(raw, at);
      return lanes ? pickLanes(rt, then, lanes) : then;
    });

    app.post<{ Params: { '*': string } }>('/twins/*', async (req, reply) => {
      const raw = req.params['*'];
      const prefix = servesWarm ? warmPrefix(rt, raw) : undefined;
      if (prefix !== undefined) return warmUnder(rt, req, prefix);
      const match = /^(.*)\/commands\/([^/]+)$/.exec(raw);
      if (!match) {
        throw new TwinError(
          'TWIN_ROUTE_NOT_FOUND',
          servesWarm
            ? `no route POST /twins/${raw}: commands go to POST /twins/{path}/commands/{lane}, warming to POST /twins/{path}/warm (or POST /twins/warm for every twin)`
            : `no route POST /twins/${raw}: commands go to POST /twins/{path}/commands/{lane}; warming is served on the admin listener`,
        );
      }
      // fastify also parses text/plain, which would turn `true` into the string "true": a command is JSON.
      const type = req.headers['content-type'];
      if (type !== undefined && !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
        throw new TwinError(
          'TWIN_CONTENT_TYPE',
          `a command body is JSON (content-type: application/json), got "${type}"`,
        );
      }
      needRight(req, 'command', match[1]!);
      // A retry with the same key (the answer was lost) is acknowledged without running twice.
      const key = req.headers['idempotency-key'];
      if (Array.isArray(key)) throw new TwinError('TWIN_QUERY_INVALID', 'one Idempotency-Key header at most');
      await rt.command(match[1]!, match[2]!, req.body ?? null, {
        fromClient: true,
        ...(key !== undefined && { idempotencyKey: key }),
      });
      return reply.status(202).send({ status: 'accepted' });
    });
  };
}

/** `lanes` of a state as of a time, with the errors of a plain read: an unknown lane is 404. */
function pickLanes(rt: Runtime, then: TwinSnapshot, lanes: readonly string[]): TwinSnapshot {
  const model = rt.catalog.modelOf(TwinPath.parse(then.path));
  const unknown = lanes.find((l) => !model?.laneNames.includes(l));
  if (unknown !== undefined)
    throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${then.path} has no lane "${unknown}"`, {
      path: then.path,
      lane: unknown,
    });
  // Command and supply lanes have no state: omitted, as a plain read omits them.
  return {
    ...then,
    lanes: Object.fromEntries(lanes.filter((l) => Object.hasOwn(then.lanes, l)).map((l) => [l, then.lanes[l]])),
  };
}
