import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { TwinError, toTwinError } from '../../errors.js';
import type { Logger } from '../logger.js';

/** Largest accepted request body (bytes); larger ones get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The fastify instance of a node, with twinflow's error contract: every error reply is
 * JSON `{ code, message, details? }` with the HTTP status of its code (see ErrorCodes),
 * plus `/healthz` (alive) and `/readyz` (200 once every plugin is loaded).
 */
export function createHttpServer(logger: Logger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: MAX_BODY_BYTES });
  let ready = false;
  app.addHook('onReady', async () => {
    ready = true;
  });
  app.setErrorHandler((err, req, reply) => {
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (!(err instanceof TwinError) && fastifyStatus && fastifyStatus < 500) {
      // fastify's own 4xx (bad JSON, body too large, bad content type): keep its status.
      req.log.info({ code: (err as { code?: string }).code, status: fastifyStatus }, (err as Error).message);
      return reply.status(fastifyStatus).send({ code: 'TWIN_EVENT_INVALID', message: (err as Error).message });
    }
    const e = toTwinError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: e.code }, e.message);
    return reply.status(e.status).send(e.toJSON());
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready ? { status: 'ready' } : reply.status(503).send({ status: 'starting' })));
  return app;
}
