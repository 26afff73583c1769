import { TwinError } from '../../errors.js';

/**
 * Bounds of the HTTP front. Each one caps work or memory a single client could otherwise
 * hold or multiply: sockets it keeps open, time it may take to send a request, events in
 * one batch, and the size of the answer to a batch of bad events.
 *
 * @example
 * ```ts
 * await startNode({ models, httpLimits: { maxBatchEvents: 1000, requestTimeoutMs: 10_000 } });
 * ```
 */
export interface HttpLimits {
  /** Largest request body; a larger one is 413 TWIN_PAYLOAD_TOO_LARGE while it is read (default 1 MiB). */
  maxBodyBytes: number;
  /** Events one `POST /events` batch may hold; more is 413 TWIN_BATCH_TOO_LARGE before any is decoded (default 10 000). */
  maxBatchEvents: number;
  /** Rejected events a batch answer lists one by one; the rest are only counted by code (default 100). */
  maxListedErrors: number;
  /** Time a client has to send a whole request, headers and body; then 408 and the socket is closed (default 30 s; 0 = none). */
  requestTimeoutMs: number;
  /** Time a client has to send the request headers (default 10 s; at most `requestTimeoutMs`). */
  headersTimeoutMs: number;
  /** An idle keep-alive socket is closed after this long (default 5 s). */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all for this long is closed (default 120 s; 0 = none). Not applied to WARP sockets. */
  idleTimeoutMs: number;
  /** Requests one keep-alive socket may carry before the server closes it (default 0 = unlimited). */
  maxRequestsPerSocket: number;
  /** Open sockets of the port, HTTP and WARP together; new ones past it are closed at accept (default 10 000). */
  maxConnections: number;
}

/**
 * The defaults of {@link HttpLimits}: generous for any real client (a 1 MiB body at
 * 300 kbit/s still arrives within 30 s), tight enough that 3,000 slow-body sockets are
 * gone in seconds rather than held forever.
 */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxBatchEvents: 10_000,
  maxListedErrors: 100,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxRequestsPerSocket: 0,
  maxConnections: 10_000,
});

/**
 * The limits with defaults filled in, checked: Node refuses a headers timeout above the
 * request timeout at listen time, far from the option that caused it.
 */
export function resolveHttpLimits(partial: Partial<HttpLimits> = {}): HttpLimits {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS };
  for (const [k, v] of Object.entries(partial))
    if (v !== undefined) (limits as unknown as Record<string, number>)[k] = v;
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 0)
      throw new TwinError('TWIN_CONFIG_INVALID', `http limit ${k} must be a non-negative integer, got ${String(v)}`);
  }
  if (limits.maxBodyBytes < 1) throw new TwinError('TWIN_CONFIG_INVALID', 'http limit maxBodyBytes must be at least 1');
  if (limits.maxBatchEvents < 1)
    throw new TwinError('TWIN_CONFIG_INVALID', 'http limit maxBatchEvents must be at least 1');
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `the headers timeout (${limits.headersTimeoutMs} ms) must not exceed the request timeout (${limits.requestTimeoutMs} ms)`,
    );
  }
  return limits;
}

/**
 * How often Node sweeps open requests for expired header/request timeouts. Node's default
 * (30 s) would let a 10 s headers timeout take up to 40 s; a quarter of the shortest
 * timeout, within [50 ms, 1 s], keeps the bound close at a negligible cost (one pass over
 * the open requests).
 */
export function checkingIntervalMs(limits: HttpLimits): number {
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((t) => t > 0));
  return Number.isFinite(shortest) ? Math.max(50, Math.min(1000, Math.floor(shortest / 4))) : 30_000;
}
