import type { FastifyInstance } from 'fastify';
import { ErrorCodes } from '../../errors.js';
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, MAX_ROLLBACK_ENTRIES } from '../../runtime/journal-reads.js';

const error = { $ref: '#/components/schemas/Error' };
/** `GET` and `HEAD /signals`' one parameter. */
const SIGNALS_FILTER = {
  name: 'filter',
  in: 'query',
  description: 'Only events whose subject matches this path filter (`*`, `**`)',
  schema: { type: 'string' },
};
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: error } } });
/** How the read routes take a time (src/node/http/params.ts). */
const TIME =
  'epoch ms as a decimal integer, or an RFC 3339 timestamp with its offset such as 2026-01-01T00:00:00Z; anything else is a 400';
const pathParam = {
  name: 'path',
  in: 'path',
  required: true,
  description: 'Twin path without the leading slash (slashes allowed), e.g. org/contoso/site/berlin',
  schema: { type: 'string' },
};

/**
 * The OpenAPI 3.1 description of the HTTP API, written by hand next to the routes it
 * describes (twin-routes, query-routes, event-routes, metrics-routes, server).
 *
 * @example
 * ```ts
 * openApiDocument.paths['/metrics'].get.summary; // 'Prometheus metrics'
 * ```
 */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'twinflow HTTP API',
    version: '0.1.0',
    description:
      'Read and query twins, send commands, ingest CloudEvents. Live lanes are served over WebSocket (WARP) on the same port, at /; see docs/protocol.md.',
  },
  paths: {
    '/twins/{path}': {
      get: {
        summary: 'Read a twin',
        operationId: 'readTwin',
        parameters: [
          pathParam,
          {
            name: 'lanes',
            in: 'query',
            description: 'Comma-separated lane names (default: all; an empty list or name is a 400)',
            schema: { type: 'string' },
          },
          {
            name: 'at',
            in: 'query',
            description: `The state as of this time, from the journal: ${TIME}. Rolls back at most ${MAX_ROLLBACK_ENTRIES} journal entries`,
            schema: { type: 'string' },
          },
        ],
        responses: {
          200: {
            description: 'The twin',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Twin' } } },
          },
          400: errorResponse(
            `Invalid path (TWIN_PATH_INVALID); a parameter given twice, an empty \`lanes\` name, an unreadable \`at\`, or an \`at\` whose state would roll back more than ${MAX_ROLLBACK_ENTRIES} journal entries (TWIN_QUERY_INVALID); no journal (TWIN_JOURNAL_DISABLED)`,
          ),
          404: errorResponse('No route matches the path (TWIN_NO_ROUTE) or no such lane (TWIN_LANE_NOT_FOUND)'),
        },
      },
    },
    '/twins/{path}/history': {
      get: {
        summary: 'Journaled turns of a twin',
        operationId: 'twinHistory',
        parameters: [
          pathParam,
          {
            name: 'from',
            in: 'query',
            description: `Earliest time, inclusive (${TIME}; default 0)`,
            schema: { type: 'string' },
          },
          {
            name: 'to',
            in: 'query',
            description: 'Latest time, inclusive (default: no limit); must not be before `from`',
            schema: { type: 'string' },
          },
          {
            name: 'limit',
            in: 'query',
            description: 'Most entries in the page (a decimal integer)',
            schema: { type: 'integer', minimum: 1, maximum: MAX_HISTORY_LIMIT, default: DEFAULT_HISTORY_LIMIT },
          },
          {
            name: 'cursor',
            in: 'query',
            description: 'The `next` of the previous page (with the same `from` and `to`)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          200: {
            description:
              'A page of the journal, oldest first; `next` is the cursor of the following page, null after the last. Entries written meanwhile are neither skipped nor repeated',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['path', 'from', 'to', 'entries', 'next'],
                  properties: {
                    path: { type: 'string' },
                    from: { type: 'integer' },
                    to: { type: 'integer' },
                    entries: {
                      type: 'array',
                      items: {
                        type: 'object',
                        description: '`{ path, time, seq, cause, changes: [[lane, key, old, new]] }`',
                      },
                    },
                    next: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
          400: errorResponse(
            'Invalid path (TWIN_PATH_INVALID); a parameter given twice, `from`/`to` empty, unreadable or from > to, a `limit` outside 1..10000 or not a decimal integer, a cursor this server did not issue (TWIN_QUERY_INVALID); no journal (TWIN_JOURNAL_DISABLED)',
          ),
        },
      },
    },
    '/twins/{path}/commands/{lane}': {
      post: {
        summary: 'Send a command',
        operationId: 'sendCommand',
        parameters: [
          pathParam,
          { name: 'lane', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'Idempotency-Key',
            in: 'header',
            description:
              'Makes a retry apply once: a command to the same twin and lane with the key of one the twin took recently (its dedupe window) is answered 202 without running again, whatever its body. 1-256 printable ASCII characters; once at most',
            schema: { type: 'string', minLength: 1, maxLength: 256 },
          },
        ],
        requestBody: {
          description: 'The command value as JSON (no body is `null`)',
          content: { 'application/json': { schema: {} } },
        },
        responses: {
          202: {
            description: 'Accepted and committed',
            content: {
              'application/json': { schema: { type: 'object', properties: { status: { const: 'accepted' } } } },
            },
          },
          400: errorResponse(
            'Bad JSON (TWIN_PAYLOAD_INVALID), nested too deep (TWIN_PAYLOAD_TOO_DEEP), a value lane the model computes (TWIN_LANE_KIND), a malformed or repeated Idempotency-Key (TWIN_QUERY_INVALID), an invalid path (TWIN_PATH_INVALID)',
          ),
          404: errorResponse('No such twin or lane'),
          413: errorResponse('Body over --http-max-body (default 1 MiB; TWIN_PAYLOAD_TOO_LARGE)'),
          415: errorResponse('A content type other than JSON (TWIN_CONTENT_TYPE)'),
          422: errorResponse('The model rejected the command (TWIN_PAYLOAD_REJECTED)'),
        },
      },
    },
    '/twins/{path}/warm': {
      post: {
        summary: 'Bring a subtree back from the store',
        operationId: 'warmTwins',
        description:
          'Starts every stored twin at and under the path that is not live yet, reading the store sequentially (Runtime.warm).',
        parameters: [pathParam],
        responses: {
          200: {
            description: 'How many twins started',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { prefix: { type: 'string' }, started: { type: 'integer' } } },
              },
            },
          },
          400: errorResponse('Invalid path (TWIN_PATH_INVALID)'),
        },
      },
    },
    '/twins/warm': {
      post: {
        summary: 'Bring every stored twin back',
        operationId: 'warmAll',
        description:
          'Starts every stored twin that is not live yet (Runtime.warm(\'/\'), as `twinflow serve --warm /`); answers `{ prefix: "/", started }`.',
        responses: {
          200: {
            description: 'How many twins started',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { prefix: { const: '/' }, started: { type: 'integer' } } },
              },
            },
          },
        },
      },
    },
    '/twins': {
      get: {
        summary: 'Query a subtree',
        operationId: 'queryTwins',
        description:
          'Twins under a path (or matching a wildcard filter), optionally of some models and whose lanes satisfy every `where` clause, in path order, paginated.',
        parameters: [
          {
            name: 'under',
            in: 'query',
            description: 'A twin path; the twin itself and everything below it',
            schema: { type: 'string' },
            example: '/org/contoso/site/berlin/building/41',
          },
          {
            name: 'filter',
            in: 'query',
            description: 'A path filter instead of `under` (`*` one segment, `**` any depth); both together are a 400',
            schema: { type: 'string' },
          },
          {
            name: 'model',
            in: 'query',
            description: 'Comma-separated model names; an unknown or empty one is a 400',
            schema: { type: 'string' },
            example: 'room',
          },
          {
            name: 'where',
            in: 'query',
            description: 'Repeatable `lane<op>value`, op one of = != > >= < <=; the value is JSON or plain text',
            schema: { type: 'array', items: { type: 'string' } },
            style: 'form',
            explode: true,
            example: ['occupied=false'],
          },
          {
            name: 'lanes',
            in: 'query',
            description:
              'Comma-separated lanes to return (default: all); items of models without a lane omit it, a lane none of the queried models has (or an empty name) is a 400',
            schema: { type: 'string' },
          },
          {
            name: 'limit',
            in: 'query',
            description: 'A decimal integer',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          { name: 'cursor', in: 'query', description: 'The `next` of the previous page', schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: 'A page of matches',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['items', 'next'],
                  properties: {
                    items: { type: 'array', items: { $ref: '#/components/schemas/Twin' } },
                    next: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
          400: errorResponse(
            'Bad filter, where clause, limit or cursor, a parameter other than `where` given twice, an empty value or list item, `under` with `filter`, an unknown model or lane (TWIN_QUERY_INVALID, TWIN_FILTER_INVALID, TWIN_PATH_INVALID)',
          ),
          422: errorResponse(
            '`under`/`filter` matches more twins than --max-link-twins (default 10 000), counted before any is read (TWIN_TOO_MANY_TWINS): narrow it',
          ),
        },
      },
    },
    '/events': {
      post: {
        summary: 'Ingest CloudEvents (structured JSON, one or a batch)',
        operationId: 'ingestEvents',
        requestBody: {
          content: {
            'application/json': {
              schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
            },
          },
        },
        responses: {
          202: {
            description:
              "All accepted: each event's own twin applied it and the commit holding that is done (durable with --durability strict). Parents on other shards follow eventually: GET /settled waits for them",
          },
          207: {
            description:
              'Some rejected: `accepted`, `rejectedTotal`, `rejectedByCode` (counts by code) and `rejected` (the first 100 by index, each with `retryable`: true when the event should be resent later as it is; `truncated` when there are more)',
          },
          400: errorResponse(
            'None accepted and at least one refusal is final (a batch answers the same summary as 207; its `retryable` ones may still be resent)',
          ),
          413: errorResponse(
            'Body over --http-max-body (default 1 MiB; TWIN_PAYLOAD_TOO_LARGE) or a batch of more than --http-max-batch events (TWIN_BATCH_TOO_LARGE)',
          ),
          429: {
            ...errorResponse(
              "The sender is over its ingest rate (--ingest-rate, or its principal's rate; a batch of N events costs N): TWIN_RATE_LIMITED, nothing applied; resend after Retry-After",
            ),
            headers: {
              'Retry-After': {
                description: 'Seconds to wait before resending (at least 1)',
                schema: { type: 'integer' },
              },
            },
          },
          503: errorResponse(
            'The node cannot take the event now, nothing is wrong with it (TWIN_CLUSTER_UNAVAILABLE, TWIN_FENCED, TWIN_STORE_FAILED, TWIN_QUEUE_FULL, TWIN_RUNTIME_CLOSED): resend it later. A batch none of whose events was accepted, all for such reasons, answers the same summary as 207 with this status',
          ),
        },
      },
    },
    '/settled': {
      get: {
        summary:
          'Wait until the node is quiet: acknowledged input and everything it set off (joins between shards, commits) applied',
        operationId: 'settled',
        parameters: [
          {
            name: 'timeout',
            in: 'query',
            description: 'Give up after this many ms',
            schema: { type: 'integer', minimum: 1, maximum: 60000, default: 30000 },
          },
        ],
        responses: {
          200: {
            description: 'Quiet',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['settled', 'waitedMs'],
                  properties: { settled: { const: true }, waitedMs: { type: 'integer' } },
                },
              },
            },
          },
          400: errorResponse('Unreadable timeout (TWIN_QUERY_INVALID)'),
          503: errorResponse('Still busy after the timeout (TWIN_NOT_SETTLED)'),
        },
      },
    },
    '/dead-letters': {
      get: {
        summary: 'Input twinflow refused and output sinks gave up on, newest first',
        operationId: 'deadLetters',
        description:
          'Needs `admin` on every path when access rules are on; served on the admin listener when there is one. The store keeps the newest 1000.',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
          },
          {
            name: 'origin',
            in: 'query',
            description: 'Only dead letters of this origin',
            schema: { type: 'string', enum: ['mqtt', 'http', 'output'] },
          },
        ],
        responses: {
          200: {
            description:
              '`{ total, evicted, items }`: dead letters ever recorded, how many the bound pushed out, and the newest (`{ seq, at, origin, code, message, where?, sender?, path?, id?, source?, preview?, size?, event? }`)',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['total', 'evicted', 'items'],
                  properties: {
                    total: { type: 'integer' },
                    evicted: { type: 'integer' },
                    items: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          },
          400: errorResponse('Unreadable limit or origin (TWIN_QUERY_INVALID)'),
          403: errorResponse('The principal is not an admin (TWIN_FORBIDDEN)'),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        operationId: 'metrics',
        responses: {
          200: {
            description: 'Text exposition format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/models': {
      get: {
        summary: 'The models this node serves, their routes and the kind of each lane',
        operationId: 'listModels',
        responses: {
          200: {
            description: '{ models: [{ name, route, lanes: [{ name, kind, writable?, window? }] }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/signals': {
      get: {
        summary: 'Derived events as Server-Sent Events: the most recent ones, then each as it commits',
        operationId: 'streamSignals',
        parameters: [SIGNALS_FILTER],
        responses: {
          200: {
            description: '`id:` and `data: <CloudEvent JSON>` per event; only subjects the caller may read',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          400: errorResponse('Empty or invalid filter'),
          503: errorResponse(
            'As many readers as --signals-max-readers allows are open (TWIN_TOO_MANY_CONNECTIONS); retry later',
          ),
        },
      },
      head: {
        summary:
          'The headers a GET /signals would answer (200 and text/event-stream, or its 400, 401 or 503), no body; opens no stream',
        operationId: 'probeSignals',
        parameters: [SIGNALS_FILTER],
        responses: {
          200: { description: 'A GET would open a stream' },
          400: { description: 'Empty or invalid filter' },
          503: { description: 'As many readers as allowed are open; retry later' },
        },
      },
    },
    '/': {
      get: {
        summary: 'The dashboard page (its files under /dashboard/ need no credentials)',
        operationId: 'dashboard',
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/healthz': { get: { summary: 'Liveness', operationId: 'healthz', responses: { 200: { description: 'Alive' } } } },
    '/readyz': {
      get: {
        summary: 'Readiness',
        operationId: 'readyz',
        responses: { 200: { description: 'Ready' }, 503: { description: 'Starting' } },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', operationId: 'openapi', responses: { 200: { description: 'OpenAPI 3.1' } } },
    },
  },
  components: {
    schemas: {
      Twin: {
        type: 'object',
        required: ['path', 'model', 'lanes'],
        properties: {
          path: { type: 'string' },
          model: { type: 'string' },
          lanes: { type: 'object', additionalProperties: true },
        },
      },
      Error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: Object.keys(ErrorCodes) },
          message: { type: 'string' },
          details: { type: 'object' },
        },
      },
    },
  },
} as const;

/**
 * `GET /openapi.json` serves {@link openApiDocument}.
 *
 * @example
 * ```ts
 * await app.register(openApiRoutes());
 * ```
 */
export function openApiRoutes() {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/openapi.json', async () => openApiDocument);
  };
}
