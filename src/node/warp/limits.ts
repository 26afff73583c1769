/**
 * Limits of the WARP front, per socket. Every one of them bounds memory or work that a
 * single client could otherwise grow without end.
 *
 * @example
 * ```ts
 * await startNode({ models, warp: { limits: { maxLinks: 100, sendBudgetBytes: 256 * 1024 } } });
 * ```
 */
export interface WarpLimits {
  /** Largest frame a client may send; larger ones close the socket with 1009 (default 256 KiB). */
  maxFrameBytes: number;
  /** Open links per socket; more are refused with `@unlinked(...)@tooManyLinks` (default 1024). */
  maxLinks: number;
  /**
   * Wildcard links per socket (of its `maxLinks`), counting unlinked ones whose sync still
   * runs: each costs every shard a pass over up to `--max-link-twins` stored twins; more are
   * refused with `@unlinked(...)@tooManyLinks` (default 16).
   */
  maxWildcardLinks: number;
  /**
   * Bytes that may wait in the socket's send buffer (ws `bufferedAmount`). Beyond it the
   * server stops writing and lets the links conflate until the client reads (default 1 MiB).
   */
  sendBudgetBytes: number;
  /** Size a batched frame is filled up to (default 16 KiB). */
  frameBytes: number;
  /** Error and reply envelopes queued behind a full budget; extras are dropped (default 256). */
  maxPendingControl: number;
  /**
   * Events a link to a command or supply lane may hold for a slow socket. Those events
   * are not conflated (each one matters); past this many the oldest is dropped and
   * counted (`twinflow_warp_dropped_total`) (default 256).
   */
  maxQueuedEvents: number;
  /**
   * Commands a socket may have sent that are not committed (or refused) yet. WARP has no
   * command acknowledgement to make a client wait, so past this many the server stops
   * reading the socket (TCP backpressure, counted in `commandStalls`) and reads again once
   * half of them are answered; a frame already read is handled whole (default 256).
   */
  maxCommandsInFlight: number;
  /**
   * Open WARP sockets of the node; an upgrade past it is answered 503
   * TWIN_TOO_MANY_CONNECTIONS. Keep it below the HTTP connection cap (`--http-max-connections`),
   * which counts WARP sockets too, so that plain HTTP keeps some room (default 5 000).
   */
  maxSockets: number;
  /**
   * The server pings every socket this often; one that has sent nothing (no pong, no frame)
   * since the previous ping is gone (a half-open TCP connection, a peer that vanished) and
   * is closed (default 30 s; 0 = no pings).
   */
  pingIntervalMs: number;
}

/**
 * The defaults of {@link WarpLimits}.
 *
 * @example
 * ```ts
 * DEFAULT_WARP_LIMITS.maxLinks; // 1024
 * ```
 */
export const DEFAULT_WARP_LIMITS: Readonly<WarpLimits> = Object.freeze({
  maxFrameBytes: 256 * 1024,
  maxLinks: 1024,
  maxWildcardLinks: 16,
  sendBudgetBytes: 1024 * 1024,
  frameBytes: 16 * 1024,
  maxPendingControl: 256,
  maxQueuedEvents: 256,
  maxCommandsInFlight: 256,
  maxSockets: 5_000,
  pingIntervalMs: 30_000,
});

/**
 * Counters of the WARP front (monotonic; `connections` is a gauge).
 *
 * @example
 * ```ts
 * node.warp.stats().framesOut;
 * ```
 */
export interface WarpStats {
  connections: number;
  framesIn: number;
  framesOut: number;
  envelopesOut: number;
  bytesOut: number;
  linksOpened: number;
  linksClosed: number;
  malformed: number;
  commandsFailed: number;
  /** Conflations of links that are closed (live links are added when read). */
  conflationsClosed: number;
  /** Command/supply events dropped by links that are closed (live links are added when read). */
  droppedClosed: number;
  /** Error replies dropped because the client did not read them. */
  controlDropped: number;
  /** Times a socket hit its send budget. */
  budgetStalls: number;
  /** Times the server stopped reading a socket because it had `maxCommandsInFlight` commands in flight. */
  commandStalls: number;
}

/** Fresh zeroed counters. */
export function newWarpStats(): WarpStats {
  return {
    connections: 0,
    framesIn: 0,
    framesOut: 0,
    envelopesOut: 0,
    bytesOut: 0,
    linksOpened: 0,
    linksClosed: 0,
    malformed: 0,
    commandsFailed: 0,
    conflationsClosed: 0,
    droppedClosed: 0,
    controlDropped: 0,
    budgetStalls: 0,
    commandStalls: 0,
  };
}
