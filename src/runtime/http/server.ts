import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { TwinError, toTwinError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../logger.js';

/** Largest accepted request body (bytes); larger ones get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * fastify's own request errors, by its code, as twinflow codes, so a client sees the same
 * code for the same fault on every route (e.g. bad JSON is TWIN_PAYLOAD_INVALID on
 * `POST /events`, whose parser is twinflow's, and on commands, whose parser is fastify's).
 */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'TWIN_PAYLOAD_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TWIN_PAYLOAD_INVALID',
  FST_ERR_CTP_BODY_TOO_LARGE: 'TWIN_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TWIN_CONTENT_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TWIN_PAYLOAD_INVALID',
  FST_ERR_BAD_URL: 'TWIN_PATH_INVALID',
};

/**
 * The fastify instance of a node, with twinflow's error contract: every error reply is
 * JSON `{ code, message, details? }` with the HTTP status of its code (see ErrorCodes),
 * plus `/healthz` (alive) and `/readyz` (200 once every plugin is loaded).
 */
export function createHttpServer(logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: MAX_BODY_BYTES,
    // A URL fastify cannot decode (`/twins/a/%ZZ`) never reaches the error handler.
    frameworkErrors: (err, req, reply) => {
      const code = FASTIFY_CODES[(err as { code?: string }).code ?? ''] ?? 'TWIN_PATH_INVALID';
      req.log.info({ code, url: req.url }, err.message);
      void (reply as FastifyReply).status(400).send({ code, message: err.message });
    },
  });
  let ready = false;
  app.addHook('onReady', async () => {
    ready = true;
  });
  app.setErrorHandler((err, req, reply) => {
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (!(err instanceof TwinError) && fastifyStatus && fastifyStatus < 500) {
      // fastify's own 4xx (bad JSON, body too large, bad content type): keep its status.
      const fastifyCode = (err as { code?: string }).code;
      req.log.info({ code: fastifyCode, status: fastifyStatus }, (err as Error).message);
      return reply.status(fastifyStatus).send({ code: FASTIFY_CODES[fastifyCode ?? ''] ?? 'TWIN_EVENT_INVALID', message: (err as Error).message });
    }
    const e = toTwinError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: e.code }, e.message);
    return reply.status(e.status).send(e.toJSON());
  });
  // Unknown routes answer in the same error shape as everything else.
  app.setNotFoundHandler((req, reply) => {
    const e = new TwinError('TWIN_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see GET /openapi.json`);
    req.log.info({ code: e.code }, e.message);
    return reply.status(e.status).send(e.toJSON());
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready ? { status: 'ready' } : reply.status(503).send({ status: 'starting' })));
  return app;
}
