import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import type { Runtime } from '../runtime.js';

/**
 * `GET /twins/{path}[?lanes=a,b]` reads a twin; `POST /twins/{path}/commands/{lane}` sends
 * the JSON body as a command and answers 202 once its effects are committed.
 */
export function twinRoutes(rt: Runtime) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { '*': string }; Querystring: { lanes?: string } }>('/twins/*', async (req) => {
      const lanes = req.query.lanes ? req.query.lanes.split(',').filter(Boolean) : undefined;
      return rt.read(req.params['*'], lanes);
    });

    app.post<{ Params: { '*': string } }>('/twins/*', async (req, reply) => {
      const match = /^(.*)\/commands\/([^/]+)$/.exec(req.params['*']);
      if (!match) throw new TwinError('TWIN_LANE_NOT_FOUND', 'commands go to POST /twins/{path}/commands/{lane}');
      await rt.command(match[1]!, match[2]!, req.body ?? null);
      return reply.status(202).send({ status: 'accepted' });
    });
  };
}
