import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import type { EventInput } from '../event-input.js';
import type { Runtime } from '../runtime.js';

/**
 * `POST /events` with CloudEvents JSON (one event or an array). Answers once the accepted
 * events are committed: 202 all accepted, 207 some rejected, 400 none accepted; the body
 * lists each rejected event's index and error.
 */
export function eventRoutes(rt: Runtime) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/events', async (req, reply) => {
      const body = req.body;
      if (body === null || typeof body !== 'object') throw new TwinError('TWIN_EVENT_INVALID', 'the body must be a JSON event or an array of events');
      const events = (Array.isArray(body) ? body : [body]).map(fromCloudEventJson);
      const report = await rt.ingest(events);
      const status = report.rejected.length === 0 ? 202 : report.accepted === 0 ? 400 : 207;
      for (const r of report.rejected) req.log.info({ index: r.index, code: r.error.code }, r.error.message);
      return reply.status(status).send({
        accepted: report.accepted,
        rejected: report.rejected.map((r) => ({ index: r.index, ...r.error.toJSON() })),
      });
    });
  };
}

/** Maps a CloudEvents JSON object (structured mode) onto the runtime's event input. */
function fromCloudEventJson(e: unknown): EventInput {
  const o = (e !== null && typeof e === 'object' ? e : {}) as Record<string, unknown>;
  return {
    subject: o.subject as string, type: o.type as string | undefined, id: o.id as string | undefined,
    source: o.source as string | undefined, time: o.time as string | undefined, data: o.data,
  };
}
