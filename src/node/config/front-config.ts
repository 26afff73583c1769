import { flagOrEnv, readNumber } from './flags.js';
import { DEFAULT_HTTP_LIMITS, resolveHttpLimits, type HttpLimits } from '../http/limits.js';
import { DEFAULT_WARP_LIMITS, type WarpLimits } from '../warp/limits.js';
import { DEFAULT_SIGNAL_LIMITS, type SignalLimits } from '../http/signal-routes.js';

/** The bounds of the HTTP and WARP fronts, as `startNode` takes them. */
export interface FrontOptions {
  httpLimits: Partial<HttpLimits>;
  warp: { limits: Partial<WarpLimits> };
  signals: Partial<SignalLimits>;
}

/** `parseArgs` options of the front flags of `twinflow serve`. */
export const FRONT_FLAGS = {
  'http-max-body': { type: 'string' },
  'http-max-batch': { type: 'string' },
  'http-max-listed-errors': { type: 'string' },
  'http-request-timeout': { type: 'string' },
  'http-headers-timeout': { type: 'string' },
  'http-keep-alive-timeout': { type: 'string' },
  'http-idle-timeout': { type: 'string' },
  'http-max-requests-per-socket': { type: 'string' },
  'http-max-connections': { type: 'string' },
  'warp-max-sockets': { type: 'string' },
  'warp-ping-interval': { type: 'string' },
  'warp-max-wildcard-links': { type: 'string' },
  'signals-max-readers': { type: 'string' },
  'signals-max-unread': { type: 'string' },
} as const;

const H = DEFAULT_HTTP_LIMITS;
const W = DEFAULT_WARP_LIMITS;
const S = DEFAULT_SIGNAL_LIMITS;

export const FRONT_HELP = `
  HTTP and WARP bounds (see docs/http-api.md; env TWINFLOW_<FLAG>, e.g. TWINFLOW_HTTP_MAX_CONNECTIONS):
  --http-max-body <bytes>           largest request body, more is 413 (default ${H.maxBodyBytes})
  --http-max-batch <n>              events per POST /events batch, more is 413 (default ${H.maxBatchEvents})
  --http-max-listed-errors <n>      rejected events a batch answer lists; the rest are counted (default ${H.maxListedErrors})
  --http-request-timeout <ms>       whole request (headers and body) must arrive within this, else 408 (default ${H.requestTimeoutMs}; 0 = none)
  --http-headers-timeout <ms>       request headers must arrive within this (default ${H.headersTimeoutMs})
  --http-keep-alive-timeout <ms>    close idle keep-alive sockets after this (default ${H.keepAliveTimeoutMs})
  --http-idle-timeout <ms>          close HTTP sockets with no traffic for this long (default ${H.idleTimeoutMs}; 0 = never)
  --http-max-requests-per-socket <n> requests per keep-alive socket (default ${H.maxRequestsPerSocket} = unlimited)
  --http-max-connections <n>        open sockets, HTTP and WARP together; more are closed at accept (default ${H.maxConnections})
  --warp-max-sockets <n>            open WARP WebSockets; more upgrades get 503 (default ${W.maxSockets})
  --warp-ping-interval <ms>         ping WARP sockets; one silent for a whole interval is closed (default ${W.pingIntervalMs}; 0 = off)
  --warp-max-wildcard-links <n>     wildcard links per WARP socket, counting unlinked ones still syncing; more get @tooManyLinks (default ${W.maxWildcardLinks}; 0 = none)
  --signals-max-readers <n>         GET /signals streams open at once; more get 503 (default ${S.maxReaders})
  --signals-max-unread <bytes>      bytes a /signals reader may leave unread before its stream is closed (default ${S.maxBufferedBytes})
`;

type FlagValues = { [K in keyof typeof FRONT_FLAGS]?: string };

/**
 * Reads the front flags (then `TWINFLOW_HTTP_*` / `TWINFLOW_WARP_*`, then defaults).
 * Throws an Error naming the flag on bad input, including a headers timeout above the
 * request timeout (which Node would refuse only at listen time).
 *
 * @example
 * ```ts
 * frontsFromFlags({ 'http-max-batch': '500' }, {}).httpLimits.maxBatchEvents; // 500
 * ```
 */
export function frontsFromFlags(values: FlagValues, env: NodeJS.ProcessEnv): FrontOptions {
  const read = (flag: keyof typeof FRONT_FLAGS, min = 0): number | undefined => {
    const s = flagOrEnv(flag, values[flag], env, `TWINFLOW_${flag.toUpperCase().replaceAll('-', '_')}`);
    return s ? readNumber(s.name, s.raw, { integer: true, min }) : undefined;
  };
  const httpLimits = defined({
    maxBodyBytes: read('http-max-body', 1),
    maxBatchEvents: read('http-max-batch', 1),
    maxListedErrors: read('http-max-listed-errors'),
    requestTimeoutMs: read('http-request-timeout'),
    headersTimeoutMs: read('http-headers-timeout'),
    keepAliveTimeoutMs: read('http-keep-alive-timeout'),
    idleTimeoutMs: read('http-idle-timeout'),
    maxRequestsPerSocket: read('http-max-requests-per-socket'),
    maxConnections: read('http-max-connections', 1),
  });
  try {
    resolveHttpLimits(httpLimits);
  } catch (err) {
    throw new Error(`--http-headers-timeout/--http-request-timeout: ${(err as Error).message}`, { cause: err });
  }
  const warpLimits = defined({
    maxSockets: read('warp-max-sockets', 1),
    pingIntervalMs: read('warp-ping-interval'),
    maxWildcardLinks: read('warp-max-wildcard-links'),
  });
  const signals = defined({
    maxReaders: read('signals-max-readers', 1),
    maxBufferedBytes: read('signals-max-unread', 1),
  });
  return { httpLimits, warp: { limits: warpLimits }, signals };
}

function defined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}
