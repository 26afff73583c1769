import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ingestRefusal } from '../auth/forbidden.js';
import { TwinError, isRetryable, publicError, toTwinError } from '../../errors.js';
import type { EventInput } from '../../actors/event-input.js';
import type { BadInput, InputNote } from '../ingest/bad-input.js';
import type { Rejections } from '../rejections.js';
import { decodeBinary, decodeStructured, type DecodeOptions } from '../ingest/cloudevent.js';
import type { Runtime } from '../../runtime/runtime.js';
import { topLevelItems } from './batch-scan.js';
import { batchStatus } from './batch-status.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './limits.js';
import { markCounted } from './server.js';
import { rateKeyOf, type IngestQuota } from '../ingest/ingest-quota.js';

export interface EventRouteOptions {
  /** Where rejected input is logged and dead-lettered. */
  bad: BadInput;
  /** CloudEvent attribute naming the twin path (default `subject`). */
  pathAttribute?: string;
  /** Batch size cap and how many rejected events an answer lists (defaults: DEFAULT_HTTP_LIMITS). */
  limits?: Partial<Pick<HttpLimits, 'maxBatchEvents' | 'maxListedErrors'>>;
  /** Ingest rate per sender: a request over it is 429 with `Retry-After` (default: no limit). */
  quota?: IngestQuota;
}

/** The answer to a batch: totals, the first rejected events by index, and every rejection counted by code. */
export interface BatchAnswer {
  accepted: number;
  /**
   * The first `maxListedErrors` rejected events, by index. `retryable`: refused for a transient
   * reason (a 503 or 429 code: overload, store or cluster unavailable), so the sender should
   * resend that event later; false when the event itself must change.
   */
  rejected: ({ index: number; retryable: boolean } & ReturnType<TwinError['toJSON']>)[];
  rejectedTotal: number;
  rejectedByCode: Record<string, number>;
  /** True when `rejected` lists fewer than `rejectedTotal`. */
  truncated: boolean;
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/**
 * `POST /events`, the CloudEvents HTTP binding:
 * - binary mode: attributes in `ce-*` headers, the data as the body (any content type);
 * - structured mode: `application/cloudevents+json`;
 * - batch mode: `application/cloudevents-batch+json` (a JSON array of structured events);
 * - plain `application/json`: one twinflow event or an array (`specversion` optional;
 *   objects that have one are checked as CloudEvents).
 * Answers once the accepted events are committed: 202; a single event that is rejected
 * gets its error's status (400 invalid, 404 no route, 413 too large, 415 content type,
 * 422 rejected by the model, 503 when the node cannot take it now) with `{ code, message,
 * details? }`; a batch answers 207 (some rejected) or, with none accepted, 400, or 503 (429
 * when all are rate refusals) when every refusal is retryable ({@link batchStatus}), with a
 * bounded summary ({@link BatchAnswer}): the first `maxListedErrors` rejected indexes with
 * their errors and whether each is retryable, and counts by code. A batch
 * of more than `maxBatchEvents` is 413 TWIN_BATCH_TOO_LARGE before any event is decoded.
 * A sender over its ingest rate gets 429 TWIN_RATE_LIMITED with `Retry-After` (whole
 * seconds), also before anything is decoded: a batch of N events costs N tokens.
 * Every rejection is counted, logged at a bounded rate and dead-lettered (`GET /dead-letters`).
 *
 * @example
 * ```ts
 * await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json',
 *   'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'dev/1', 'ce-type': 'reading',
 *   'ce-subject': '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/climate' },
 *   body: JSON.stringify({ temperature: 21, humidity: 40 }) }); // 202
 * ```
 */
export function eventRoutes(rt: Runtime, options: EventRouteOptions) {
  const { bad } = options;
  const maxBatch = options.limits?.maxBatchEvents ?? DEFAULT_HTTP_LIMITS.maxBatchEvents;
  const maxListed = options.limits?.maxListedErrors ?? DEFAULT_HTTP_LIMITS.maxListedErrors;
  const ce: DecodeOptions = { pathAttribute: options.pathAttribute };
  const quota = options.quota;
  const reported = new WeakSet<Error>();
  const reject = (error: TwinError, note: InputNote, event?: EventInput): TwinError => {
    if (!reported.has(error)) bad.report(error, note, event);
    reported.add(error);
    // Counted and logged by BadInput: the root error handler must not count it again.
    return markCounted(error);
  };

  return async (app: FastifyInstance): Promise<void> => {
    // Bodies stay bytes until the route knows the mode: in binary mode the body is the
    // event's data in its own content type, not necessarily JSON.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err, req) => {
      // fastify's own rejections (body too large, bad content type) become twinflow
      // errors with a dead letter; the root handler then writes the JSON answer.
      if (err instanceof TwinError) throw err;
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      const code =
        status === 413
          ? 'TWIN_PAYLOAD_TOO_LARGE'
          : status === 415
            ? 'TWIN_CONTENT_TYPE'
            : status < 500
              ? 'TWIN_PAYLOAD_INVALID'
              : null;
      if (code === null) throw err;
      throw reject(new TwinError(code, (err as Error).message), noteOf(req));
    });

    app.post('/events', async (req, reply) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const note = noteOf(req, body);
      const contentType = req.headers['content-type'];
      const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
      const decoded: (EventInput | TwinError)[] = [];
      let batch = false;
      const binary = req.headers['ce-specversion'] !== undefined;
      // Counted on the bytes, before anything is parsed (see topLevelItems): undefined when not an array.
      const items =
        !binary && (media === BATCH || media === 'application/json' || media === '')
          ? topLevelItems(body, maxBatch)
          : undefined;
      // A batch past the limit is refused below (413) without costing the sender any of its rate.
      if (quota && (items ?? 1) > 0 && (items ?? 1) <= maxBatch) admit(quota, req, reply, items ?? 1);
      try {
        if (binary) {
          decoded.push(decodeBinary((n) => header(req, `ce-${n}`), body, contentType, ce));
        } else if (media === STRUCTURED) {
          decoded.push(decodeStructured(parseJson(body), ce));
        } else if (media === BATCH || media === 'application/json' || media === '') {
          // Before the body is parsed: the cost of a batch (parsing, decoding, errors, dead
          // letters, the answer) grows with its length, which the 1 MiB body limit alone lets reach ~350 k.
          if ((items ?? 0) > maxBatch) {
            throw new TwinError(
              'TWIN_BATCH_TOO_LARGE',
              `the batch holds more than ${maxBatch} events, the most one request may carry (split it)`,
              { limit: maxBatch },
            );
          }
          const parsed = parseJson(body);
          batch = Array.isArray(parsed);
          if (media === BATCH && !batch)
            throw new TwinError('TWIN_CLOUDEVENT_INVALID', 'a batch must be a JSON array of structured CloudEvents');
          if (!batch && (parsed === null || typeof parsed !== 'object'))
            throw new TwinError('TWIN_EVENT_INVALID', 'the body must be a JSON event or an array of events');
          for (const item of batch ? (parsed as unknown[]) : [parsed]) {
            try {
              decoded.push(media === BATCH || hasSpecversion(item) ? decodeStructured(item, ce) : plainEvent(item));
            } catch (err) {
              decoded.push(toTwinError(err, 'TWIN_CLOUDEVENT_INVALID'));
            }
          }
        } else {
          throw new TwinError(
            'TWIN_CONTENT_TYPE',
            `unsupported content type "${media}": use binary mode (ce-* headers), ${STRUCTURED}, ${BATCH} or application/json`,
          );
        }
      } catch (err) {
        throw reject(toTwinError(err, 'TWIN_PAYLOAD_INVALID'), note);
      }

      const inputs: EventInput[] = [];
      const at: number[] = [];
      const rejected: { index: number; error: TwinError }[] = [];
      decoded.forEach((d, i) => {
        // A decoded event its sender may not ingest is refused as bad input is: listed, counted, dead-lettered.
        const refusal = d instanceof TwinError ? d : ingestRefusal(req.grants, d.subject);
        if (refusal) rejected.push({ index: i, error: reject(refusal, note) });
        else if (!(d instanceof TwinError)) {
          inputs.push(d);
          at.push(i);
        }
      });
      const report = inputs.length > 0 ? await rt.ingest(inputs) : { accepted: 0, rejected: [] };
      for (const r of report.rejected)
        rejected.push({ index: at[r.index]!, error: reject(r.error, note, inputs[r.index]) });
      if (!batch) {
        if (rejected[0]) throw rejected[0].error;
        return reply.status(202).send({ accepted: 1, rejected: [] });
      }
      rejected.sort((a, b) => a.index - b.index);
      // Codes as raised (summarise may list an internal one as TWIN_INTERNAL): what decides retrying.
      const status = batchStatus(
        report.accepted,
        rejected.map((r) => r.error.code),
      );
      return reply.status(status).send(summarise(report.accepted, rejected, maxListed, bad.rejections, req.ip));
    });
  };
}

/**
 * Takes `n` events from the sender's ingest rate, or refuses the whole request: 429
 * TWIN_RATE_LIMITED with `Retry-After` in whole seconds (at least 1), counted
 * (`twinflow_rate_limited_total{front="http"}`; the root error handler logs it at a bounded
 * rate as `http.TWIN_RATE_LIMITED`), not dead-lettered (the events were fine; the sender
 * resends them later).
 */
function admit(quota: IngestQuota, req: FastifyRequest, reply: FastifyReply, n: number): void {
  const own = req.principal?.rate;
  const wait = quota.take(rateKeyOf({ principal: req.principal, remoteAddress: req.ip }), n, own);
  if (wait === 0) return;
  const rate = quota.rateOf(own)!;
  const seconds = Math.max(1, Math.ceil(wait / 1000));
  quota.limited('http', n);
  const error = new TwinError(
    'TWIN_RATE_LIMITED',
    `over the ingest rate of ${rate.eventsPerSecond} events/s (burst ${rate.burst}); retry in ${seconds} s`,
    { retryAfterSeconds: seconds, eventsPerSecond: rate.eventsPerSecond, burst: rate.burst },
  );
  void reply.header('retry-after', String(seconds));
  throw error;
}

/** The bounded answer to a batch: however many events were rejected, it lists at most `maxListed`. */
function summarise(
  accepted: number,
  rejected: readonly { index: number; error: TwinError }[],
  maxListed: number,
  rejections: Rejections,
  sender: string,
): BatchAnswer {
  const rejectedByCode: Record<string, number> = {};
  for (const r of rejected) rejectedByCode[r.error.code] = (rejectedByCode[r.error.code] ?? 0) + 1;
  // A listed error whose message is a JS exception's is shown as its code and a correlation id (see publicError).
  const internal: { err: TwinError; correlationId: string; index: number }[] = [];
  const listed = (r: { index: number; error: TwinError }): BatchAnswer['rejected'][number] => {
    const { error, correlationId } = publicError(r.error);
    if (correlationId !== undefined) internal.push({ err: r.error, correlationId, index: r.index });
    return { index: r.index, ...error.toJSON(), retryable: isRetryable(r.error.code) };
  };
  const shown = rejected.slice(0, maxListed).map(listed);
  // One line per batch, through the same valve as a request that fails inside (server.ts: 5 per
  // 10 s per code), with every correlation id the answer gave. It was one error line per listed
  // event, unthrottled: batches to a model whose handler throws logged 100 lines each.
  const first = internal[0];
  if (first)
    rejections.note(
      `http.${first.err.code}`,
      {
        err: first.err,
        correlationIds: internal.map((i) => i.correlationId),
        indexes: internal.map((i) => i.index),
        sender,
      },
      `${internal.length} events of a batch failed (internal error)`,
      'error',
    );
  return {
    accepted,
    rejected: shown,
    rejectedTotal: rejected.length,
    rejectedByCode,
    truncated: rejected.length > maxListed,
  };
}

function noteOf(req: FastifyRequest, payload?: Buffer): InputNote {
  return {
    origin: 'http',
    where: `${req.method} ${req.url}`,
    sender: req.ip,
    ...(payload !== undefined && { payload }),
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new TwinError('TWIN_PAYLOAD_INVALID', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

function hasSpecversion(item: unknown): boolean {
  return item !== null && typeof item === 'object' && 'specversion' in item;
}

/** A twinflow event without CloudEvents framing: only `subject` is required. */
function plainEvent(e: unknown): EventInput {
  if (e === null || typeof e !== 'object' || Array.isArray(e))
    throw new TwinError('TWIN_EVENT_INVALID', 'an event must be a JSON object');
  const o = e as Record<string, unknown>;
  return {
    subject: o.subject as string,
    type: o.type as string | undefined,
    id: o.id as string | undefined,
    source: o.source as string | undefined,
    time: o.time as string | undefined,
    data: o.data,
  };
}
