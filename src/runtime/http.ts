import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { TwinError, toTwinError } from '../errors.js';
import type { EventInput } from './event-input.js';
import type { Logger } from './logger.js';
import type { Runtime } from './runtime.js';

/** Largest accepted request body (bytes); larger ones get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The HTTP API over a runtime: health, twin reads, commands and JSON event ingest.
 * Errors are JSON `{ code, message, details? }` with the status of their code.
 *
 * @example
 * ```ts
 * const app = createHttpApi(rt, logger);
 * await app.listen({ host: '127.0.0.1', port: 0 });
 * ```
 */
export function createHttpApi(rt: Runtime, logger: Logger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: MAX_BODY_BYTES });
  let ready = false;
  app.addHook('onReady', async () => {
    ready = true;
  });

  app.setErrorHandler((err, _req, reply) => {
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (!(err instanceof TwinError) && fastifyStatus && fastifyStatus < 500) {
      return reply.status(fastifyStatus).send({ code: 'TWIN_EVENT_INVALID', message: (err as Error).message });
    }
    const e = toTwinError(err);
    if (e.status >= 500) app.log.error({ err }, 'request failed');
    return reply.status(e.status).send(e.toJSON());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready ? { status: 'ready' } : reply.status(503).send({ status: 'starting' })));

  app.get<{ Params: { '*': string }; Querystring: { lanes?: string } }>('/twins/*', async (req) => {
    const lanes = req.query.lanes ? req.query.lanes.split(',').filter(Boolean) : undefined;
    return rt.read(req.params['*'], lanes);
  });

  app.post<{ Params: { '*': string } }>('/twins/*', async (req, reply) => {
    const match = /^(.*)\/commands\/([^/]+)$/.exec(req.params['*']);
    if (!match) throw new TwinError('TWIN_LANE_NOT_FOUND', 'POST /twins/{path}/commands/{lane} sends a command');
    await rt.command(match[1]!, match[2]!, req.body ?? null);
    return reply.status(202).send({ status: 'accepted' });
  });

  app.post('/events', async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== 'object') throw new TwinError('TWIN_EVENT_INVALID', 'the body must be a JSON event or an array of events');
    const events = (Array.isArray(body) ? body : [body]).map(fromCloudEventJson);
    const report = await rt.ingest(events);
    const status = report.rejected.length === 0 ? 202 : report.accepted === 0 ? 400 : 207;
    return reply.status(status).send({
      accepted: report.accepted,
      rejected: report.rejected.map((r) => ({ index: r.index, ...r.error.toJSON() })),
    });
  });
  return app;
}

/** Maps a CloudEvents JSON object (structured mode) onto the runtime's event input. */
function fromCloudEventJson(e: unknown): EventInput {
  const o = (e ?? {}) as Record<string, unknown>;
  return { subject: o.subject as string, type: o.type as string | undefined, id: o.id as string | undefined, source: o.source as string | undefined, time: o.time as string | undefined, data: o.data };
}
