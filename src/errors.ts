/**
 * The one error class of twinflow and its table of stable codes.
 *
 * Every failure a user can see carries a code from {@link ErrorCodes}; the code is the
 * contract (log queries, HTTP error bodies, WARP `@unlinked` reasons), the message is
 * for people. Modelled on fastify's `FST_ERR_*` table: one place to read them all.
 *
 * @example
 * ```ts
 * try { parsePath('/a//b'); } catch (e) {
 *   if (e instanceof TwinError && e.code === 'TWIN_PATH_INVALID') reply(400, e.toJSON());
 * }
 * ```
 */
export const ErrorCodes = {
  TWIN_PATH_INVALID: { status: 400, summary: 'not a valid twin path' },
  TWIN_FILTER_INVALID: { status: 400, summary: 'not a valid path filter' },
  TWIN_ROUTE_INVALID: { status: 500, summary: 'not a valid route pattern' },
  TWIN_NO_ROUTE: { status: 404, summary: 'no model is routed to this path' },
  TWIN_LANE_NOT_FOUND: { status: 404, summary: 'the twin has no such lane' },
  TWIN_LANE_KIND: { status: 400, summary: 'the lane does not support this operation' },
  TWIN_EVENT_INVALID: { status: 400, summary: 'the event is malformed' },
  TWIN_EVENT_UNHANDLED: { status: 422, summary: 'the model has no handler for this event type' },
  TWIN_PAYLOAD_REJECTED: { status: 422, summary: 'the model rejected the payload' },
  TWIN_MODEL_INVALID: { status: 500, summary: 'the model definition is invalid' },
  TWIN_CONFIG_INVALID: { status: 500, summary: 'the runtime options are invalid' },
  TWIN_TURN_FAILED: { status: 500, summary: 'a handler threw; the turn was rolled back' },
  TWIN_QUEUE_FULL: { status: 503, summary: 'the runtime is overloaded; retry later' },
  TWIN_RUNTIME_CLOSED: { status: 503, summary: 'the runtime is closed' },
  TWIN_STORE_FAILED: { status: 503, summary: 'the state store failed to commit' },
  TWIN_PAYLOAD_INVALID: { status: 400, summary: 'the payload is not valid JSON (or not valid for its content type)' },
  TWIN_CLOUDEVENT_INVALID: { status: 400, summary: 'not a valid CloudEvent (missing or malformed required attribute)' },
  TWIN_PAYLOAD_TOO_LARGE: { status: 413, summary: 'the message is larger than the configured limit' },
  TWIN_CONTENT_TYPE: { status: 415, summary: 'unsupported content type' },
  TWIN_OUTPUT_FAILED: { status: 502, summary: 'an output sink kept failing; the derived event was dead-lettered' },
  TWIN_QUERY_INVALID: { status: 400, summary: 'the query parameters are malformed' },
  TWIN_FORBIDDEN: { status: 403, summary: 'the principal holds no right to do this on this path' },
  TWIN_UNAUTHENTICATED: { status: 401, summary: 'credentials are missing, invalid, expired or revoked' },
  TWIN_LINK_LIMIT: { status: 429, summary: 'too many links on one WebSocket' },
  TWIN_RATE_LIMITED: {
    status: 429,
    summary: "the sender is over its ingest rate; retry after the time given (HTTP's Retry-After)",
  },
  TWIN_FRAME_MALFORMED: { status: 400, summary: 'the WARP frame is not a valid envelope' },
  TWIN_ROUTE_NOT_FOUND: { status: 404, summary: 'no HTTP route with this method and path' },
  TWIN_PAYLOAD_TOO_DEEP: { status: 400, summary: 'the payload nests deeper than the configured limit' },
  TWIN_BATCH_TOO_LARGE: { status: 413, summary: 'the batch holds more events than the configured limit' },
  TWIN_TOO_MANY_TWINS: { status: 422, summary: 'the link or query matches more twins than the configured limit' },
  TWIN_JOURNAL_DISABLED: {
    status: 400,
    summary: 'reads of past state need the journal (start the node with --journal)',
  },
  TWIN_REQUEST_TIMEOUT: { status: 408, summary: 'the request was not received completely in time' },
  TWIN_TOO_MANY_CONNECTIONS: {
    status: 503,
    summary: 'the node holds as many connections as it is configured to; retry later',
  },
  TWIN_NOT_OWNER: { status: 500, summary: 'this shard does not own the twin (a placement bug; refused and counted)' },
  TWIN_STORE_LOCKED: { status: 500, summary: 'the data directory is in use by another process' },
  TWIN_STORE_CORRUPT: { status: 500, summary: 'the data store is damaged' },
  TWIN_RECORDING_INVALID: {
    status: 400,
    summary: 'the file is not a readable twinflow recording (not one, a newer format, or a damaged chunk)',
  },
  TWIN_RECORD_CORRUPT: { status: 500, summary: "the twin's stored record cannot be decoded; it was quarantined" },
  TWIN_STATE_UNSTORABLE: { status: 500, summary: 'the turn set lane state the store cannot take; it was rolled back' },
  TWIN_NOT_SETTLED: {
    status: 503,
    summary: 'the node did not become quiet within the timeout (traffic kept it busy); retry',
  },
  TWIN_CLUSTER_UNAVAILABLE: {
    status: 503,
    summary: 'the cluster (NATS JetStream) cannot take this now (no connection, no owner yet, or fenced); retry',
  },
  TWIN_FENCED: {
    status: 503,
    summary: 'this node no longer owns the twin (its lease ended, another node took it); retry on any node',
  },
  // publicError adds where the details are: `…; the server log has the details under correlation id <id>`.
  TWIN_INTERNAL: { status: 500, summary: 'internal error' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** A failure with a stable {@link ErrorCode}, an HTTP-style status and optional details. */
export class TwinError extends Error {
  override readonly name = 'TwinError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].summary, options);
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.details = details;
  }

  /** The JSON error body used by the HTTP API and logs. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True for a refusal the sender should resend unchanged later: the node could not take the
 * event now (overloaded, shutting down, its store or the cluster unavailable, the twin's owner
 * moving, over a rate), nothing is wrong with the event itself. These are the codes whose
 * status is 503 or 429 (see {@link ErrorCodes}). The one rule of every front: HTTP's batch
 * status and per-event `retryable`, and MQTT's PUBACK (a retryable refusal is not
 * acknowledged on 3.1.1, so the device sends it again).
 *
 * @example
 * ```ts
 * isRetryable('TWIN_CLUSTER_UNAVAILABLE'); // true
 * isRetryable('TWIN_NO_ROUTE'); // false
 * ```
 */
export function isRetryable(code: ErrorCode): boolean {
  const status = ErrorCodes[code].status;
  return status === 503 || status === 429;
}

/** Wraps anything thrown into a TwinError, keeping TwinErrors as they are. */
export function toTwinError(err: unknown, fallback: ErrorCode = 'TWIN_TURN_FAILED'): TwinError {
  if (err instanceof TwinError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TwinError(fallback, message, undefined, { cause: err });
}

/** Marks errors whose message came from a JS exception on another thread (see {@link hasInternalMessage}). */
const internalMessages = new WeakSet<TwinError>();

/**
 * True when the error's message is not one twinflow (or a model's own TwinError) wrote for
 * clients: anything that is not a TwinError, a TwinError wrapping a JS exception
 * (`toTwinError`: `l.syncEvents is not a function`, a model handler's TypeError), or a 5xx
 * whose cause is one (`TWIN_STORE_FAILED: …${lmdb message}`). Such messages go to the log,
 * never to a client.
 */
export function hasInternalMessage(err: unknown): boolean {
  if (!(err instanceof TwinError)) return true;
  if (internalMessages.has(err)) return true;
  const cause = (err as { cause?: unknown }).cause;
  // A 4xx wrapping an exception is about the client's input (a decoder's complaint): kept.
  return err.status >= 500 && cause !== undefined && !(cause instanceof TwinError);
}

/** Rebuilds an error that crossed a thread boundary, keeping whether its message is internal. */
export function markInternalMessage(err: TwinError): TwinError {
  internalMessages.add(err);
  return err;
}

/**
 * What a client may see of an error: TwinErrors with messages written for clients as they
 * are; anything else as a stable code with a correlation id (`details.correlationId`) in
 * place of the message, which the caller logs, with the stack, under that id. A handler
 * that threw keeps its documented code TWIN_TURN_FAILED; everything else is TWIN_INTERNAL.
 *
 * @example
 * ```ts
 * const { error, correlationId } = publicError(new TypeError('l.syncEvents is not a function'));
 * error.code; // 'TWIN_INTERNAL'; error.details.correlationId === correlationId
 * if (correlationId) log.error({ err, correlationId }, 'internal error');
 * ```
 */
export function publicError(err: unknown): { error: TwinError; correlationId?: string } {
  if (!hasInternalMessage(err)) return { error: err as TwinError };
  const correlationId = crypto.randomUUID();
  const code: ErrorCode =
    err instanceof TwinError && err.code === 'TWIN_TURN_FAILED' ? 'TWIN_TURN_FAILED' : 'TWIN_INTERNAL';
  const path = err instanceof TwinError ? err.details?.path : undefined;
  const message = `${ErrorCodes[code].summary}; the server log has the details under correlation id ${correlationId}`;
  return {
    error: new TwinError(code, message, { correlationId, ...(typeof path === 'string' && { path }) }),
    correlationId,
  };
}
