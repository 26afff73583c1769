import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { TlsOptions as NodeTlsOptions } from 'node:tls';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { TwinError, publicError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { toWireJs } from '../../protocol/wire-js.js';
import { Rejections } from '../rejections.js';
import { checkingIntervalMs, resolveHttpLimits, type HttpLimits } from './limits.js';

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

/** Errors a route already counted (e.g. `POST /events` through BadInput), so the root handler does not count them twice. */
const counted = new WeakSet<object>();

/** Marks an error as counted and logged by the route that raised it. */
export function markCounted<E extends object>(err: E): E {
  counted.add(err);
  return err;
}

export interface HttpServerOptions {
  /** Where refused requests and connections are counted (default: a private one). */
  rejections?: Rejections;
  limits?: Partial<HttpLimits>;
  /** Serve HTTPS (and so WSS) only, with these options (see serverTlsOptions). */
  tls?: NodeTlsOptions;
  /** Serve `/healthz` and `/readyz` here (default true; false when an admin listener has them). */
  probes?: boolean;
}

/**
 * The fastify instance of a node, with twinflow's error contract: every error reply is
 * JSON `{ code, message, details? }` with the HTTP status of its code (see ErrorCodes),
 * plus `/healthz` (alive) and `/readyz` (200 once every plugin is loaded).
 *
 * A client chooses how often it is refused, so no refusal writes a log line of its own:
 * 4xx answers, fastify's request errors, unknown routes, timed-out requests and sockets
 * past the connection cap all go through {@link Rejections} (counted, rate-limited log).
 * fastify's per-request access log is moved to debug for the same reason.
 */
export function createHttpServer(logger: Logger, options: HttpServerOptions = {}): FastifyInstance {
  const rejections = options.rejections ?? new Rejections(logger);
  const limits = resolveHttpLimits(options.limits);
  const httpOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
  const refuse = (req: FastifyRequest, e: { code: string; status: number; message: string }): void => {
    rejections.note(
      `http.${e.code}`,
      { code: e.code, status: e.status, method: req.method, url: req.url, sender: req.ip },
      `request refused: ${e.message}`,
    );
  };
  const app = Fastify({
    // The cast is not a no-op: it picks Fastify's logger generic (eslint's type-assertion check misses that).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    // fastify hands `https` (not `http`) to https.createServer, so the timeouts go with the TLS options.
    ...(options.tls ? { https: { ...options.tls, ...httpOptions } } : { http: httpOptions }),
    // Half-sent or malformed requests (timeouts, bad framing): counted, answered in the error shape, closed.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const e = timeout
        ? new TwinError(
            'TWIN_REQUEST_TIMEOUT',
            `the request was not received within ${limits.requestTimeoutMs} ms (headers within ${limits.headersTimeoutMs} ms)`,
          )
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? new TwinError('TWIN_PAYLOAD_TOO_LARGE', 'the request headers are larger than the server accepts')
          : new TwinError('TWIN_PAYLOAD_INVALID', 'the request is not valid HTTP/1.1');
      rejections.note(
        timeout ? 'http.request_timeout' : 'http.client_error',
        { code: e.code, parserCode: err.code, sender: socket.remoteAddress },
        `connection closed: ${e.message}`,
      );
      if (socket.writable) {
        const body = JSON.stringify(e.toJSON());
        const status = e.code === 'TWIN_PAYLOAD_TOO_LARGE' ? 431 : e.status;
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
    // A URL fastify cannot decode (`/twins/a/%ZZ`) never reaches the error handler.
    frameworkErrors: (err, req, reply) => {
      const code = FASTIFY_CODES[(err as { code?: string }).code ?? ''] ?? 'TWIN_PATH_INVALID';
      refuse(req, { code, status: 400, message: err.message });
      void (reply as FastifyReply).status(400).send({ code, message: err.message });
    },
  });
  app.server.maxConnections = limits.maxConnections;
  // A plain-HTTP client on the HTTPS port, a failed handshake, a refused client certificate:
  // Node closes the socket; counted here (nothing is written: the peer does not speak TLS).
  if (options.tls)
    // With a listener here Node leaves the socket to it (a handshake timeout would otherwise stay open).
    app.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      rejections.note(
        'http.tls_error',
        { code: err.code, sender: socket.remoteAddress },
        `connection refused: ${err.message}`,
      );
      socket.destroy();
    });
  // Node closes sockets past maxConnections at accept, before any byte is read: counted here.
  app.server.on('drop', (data?: { remoteAddress?: string }) => {
    rejections.note(
      'http.too_many_connections',
      { limit: limits.maxConnections, sender: data?.remoteAddress },
      'connection refused: the node holds as many sockets as --http-max-connections allows',
    );
  });
  // Every JSON body leaves through one rule: Maps, dates and bytes a lane or journal entry holds
  // as JSON can carry them (a Map would be `{}`; see protocol/wire-js.ts).
  // (Not async: a promise per response, ingest's 202s included, for a walk that is synchronous.)
  app.addHook('preSerialization', (_req, _reply, payload: unknown, done) => {
    let wire: unknown;
    try {
      wire = toWireJs(payload);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, wire);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });

  let ready = false;
  app.addHook('onReady', async () => {
    ready = true;
  });
  app.setErrorHandler((err, req, reply) => {
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (!(err instanceof TwinError) && fastifyStatus && fastifyStatus < 500) {
      // fastify's own 4xx (bad JSON, body too large, bad content type): keep its status.
      const code = FASTIFY_CODES[(err as { code?: string }).code ?? ''] ?? 'TWIN_EVENT_INVALID';
      const message = (err as Error).message;
      refuse(req, { code, status: fastifyStatus, message });
      return reply.status(fastifyStatus).send({ code, message });
    }
    // Internal messages (a JS exception's text) are logged with the stack under a correlation
    // id and never sent: the client gets a stable code and the id to quote.
    const { error: e, correlationId } = publicError(err);
    // A client can make the same internal error happen on every request: these lines are
    // counted and rate-limited like refusals (5 per 10 s per code), so the log cannot flood.
    if (correlationId !== undefined) {
      rejections.note(
        `http.${e.code}`,
        { err, correlationId, method: req.method, url: req.url, sender: req.ip },
        'request failed (internal error)',
        'error',
      );
      void reply.header('x-correlation-id', correlationId);
    } else if (e.status >= 500)
      rejections.note(`http.${e.code}`, { err, method: req.method, url: req.url }, 'request failed', 'error');
    else if (!counted.has(e)) refuse(req, e);
    return reply.status(e.status).send(e.toJSON());
  });
  // Unknown routes answer in the same error shape as everything else.
  app.setNotFoundHandler((req, reply) => {
    const e = new TwinError(
      'TWIN_ROUTE_NOT_FOUND',
      `no route ${req.method} ${req.url.split('?')[0]}; see GET /openapi.json`,
    );
    refuse(req, e);
    return reply.status(e.status).send(e.toJSON());
  });
  if (options.probes !== false) {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) =>
      ready ? { status: 'ready' } : reply.status(503).send({ status: 'starting' }),
    );
  }
  return app;
}
