import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../actors/clock.js';
import type { TwinLogger } from '../../model/twin-model.js';
import { WARP_SUBPROTOCOLS, encodingOfSubprotocol } from '../../protocol/warp/index.js';
import { TwinError } from '../../errors.js';
import { Rejections } from '../rejections.js';
import type { Runtime } from '../../runtime/runtime.js';
import { allowAll, type WarpAuthorizer } from './auth.js';
import { AccessControl } from '../../access/access-control.js';
import { credentialOf } from '../auth/credentials.js';
import { authenticateCurrent } from '../auth/current-verdict.js';
import { peerCommonName } from '../tls/tls-options.js';
import { SessionAccess } from './session-access.js';
import { IngestQuota } from '../ingest/ingest-quota.js';
import { EventEncoder } from './event-encoder.js';
import { DEFAULT_WARP_LIMITS, newWarpStats, type WarpLimits, type WarpStats } from './limits.js';
import { WarpSession, type SessionContext } from './session.js';

/**
 * Options of the WARP front.
 *
 * @example
 * ```ts
 * const options: WarpOptions = { authorize: (req) => req.credentials !== undefined, limits: { maxLinks: 64 } };
 * ```
 */
export interface WarpOptions {
  /** Decides per link and command (default: allow all). */
  authorize?: WarpAuthorizer;
  limits?: Partial<WarpLimits>;
  /** URL path that accepts upgrades (default `/`, where Swim clients connect). */
  path?: string;
  /** Clock of `rate`-limited links (default: the runtime's clock). */
  clock?: Clock;
  /** Where refused sockets are counted (the node passes its own; default: a private one). */
  rejections?: Rejections;
  /** Who may link and command what (default: no rules, everything allowed). */
  access?: AccessControl;
  /** Ingest rate per sender: a command over it is refused `@unlinked(…)@rateLimited` (default: no limit). */
  quota?: IngestQuota;
}

/** A snapshot of the WARP front's counters and gauges. */
export interface WarpFrontStats extends WarpStats {
  /** Open links over all sockets (gauge). */
  links: number;
  /** Lane events replaced by newer ones before a slow socket took them (counter). */
  conflations: number;
  /** Command/supply events dropped because a slow socket's link queue was full (counter). */
  dropped: number;
  /** Links whose command/supply queue is dropping events now: slow consumers (gauge). */
  overflowingLinks: number;
  /** Shared-encoding effectiveness: envelopes encoded vs. served from the cache. */
  eventsEncoded: number;
  eventsShared: number;
}

/**
 * The WARP front of a node, on the HTTP server's port.
 *
 * @example
 * ```ts
 * const warp = attachWarp(fastify.server, runtime, logger);
 * warp.stats().links;
 * await warp.close();
 * ```
 */
export interface WarpFront {
  stats(): WarpFrontStats;
  /** Sessions of the open sockets (tests use them to check that pending output is bounded). */
  sessions(): readonly WarpSession[];
  close(): Promise<void>;
}

/**
 * Accepts WebSocket upgrades at `/` on an existing HTTP server (ws in `noServer` mode) and
 * speaks WARP on them: Recon by default, or the subprotocol the client offers
 * (`warp.json`, `warp.recon`; see docs/protocol.md).
 *
 * @example
 * ```ts
 * const warp = attachWarp(app.server, runtime, logger, { limits: { sendBudgetBytes: 256 * 1024 } });
 * ```
 */
export function attachWarp(server: Server, runtime: Runtime, log: TwinLogger, options: WarpOptions = {}): WarpFront {
  const limits: WarpLimits = { ...DEFAULT_WARP_LIMITS, ...options.limits };
  const path = options.path ?? '/';
  const stats = newWarpStats();
  const rejections = options.rejections ?? new Rejections(log as ConstructorParameters<typeof Rejections>[0]);
  const ctx: SessionContext = {
    runtime,
    limits,
    stats,
    log,
    rejections,
    authorize: options.authorize ?? allowAll,
    encoders: { recon: new EventEncoder('recon'), json: new EventEncoder('json') },
    clock: options.clock ?? runtime.clock,
    quota: options.quota ?? new IngestQuota(),
  };
  const access = options.access ?? AccessControl.open();
  const sessions = new Map<WebSocket, WarpSession>();
  /** Upgrades whose credential is being checked: they count toward maxSockets already. */
  let authenticating = 0;
  const stopReload = access.onReload(() => {
    for (const s of sessions.values()) void s.recheckAccess();
  });
  /** Sockets heard from (a pong or a frame) since the last ping round. */
  const alive = new WeakSet<WebSocket>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => {
      if (offered.has(WARP_SUBPROTOCOLS.json)) return WARP_SUBPROTOCOLS.json;
      if (offered.has(WARP_SUBPROTOCOLS.recon)) return WARP_SUBPROTOCOLS.recon;
      return false;
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname !== path) {
      // Leave other paths to other upgrade listeners; refuse only if nobody else listens.
      if (server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // ws completes a handshake synchronously (no verifyClient), so sessions.size is exact here.
    if (sessions.size + authenticating >= limits.maxSockets) {
      rejections.note(
        'warp.too_many_sockets',
        { limit: limits.maxSockets, sender: req.socket.remoteAddress },
        'WARP upgrade refused: the node holds as many WARP sockets as allowed',
      );
      const body = JSON.stringify(
        new TwinError(
          'TWIN_TOO_MANY_CONNECTIONS',
          `the node holds ${limits.maxSockets} WARP sockets, its limit; retry later`,
        ).toJSON(),
      );
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    if (!access.enabled) {
      accept(req, socket, head, new SessionAccess(access, null, { kind: 'none' }, () => undefined));
      return;
    }
    // The upgrade's credential (header, or ?token= from browsers) is checked before the handshake:
    // a wrong one is refused with 401; none at all opens the socket with the anonymous grants, so a
    // Swim client can still send @auth.
    // Over WSS with a client certificate the configured CA verified, no token means that certificate.
    const credential = credentialOf(req.headers, req.url, true, peerCommonName(req.socket));
    authenticating++;
    // Nobody listens for socket errors between the upgrade event and the handshake: a reset
    // while the credential is checked would be an uncaught exception.
    const onError = (): void => void socket.destroy();
    socket.on('error', onError);
    // A reload during the check: checked again under the new rules (authenticateCurrent), as the
    // reload's re-check of open sessions ran before this one was registered. `accept` registers it
    // in the same turn as the verdict (ws completes the handshake synchronously).
    void authenticateCurrent(access, credential, ({ principal, error: err }) => {
      authenticating--;
      socket.off('error', onError);
      if (socket.destroyed) return;
      if (principal) {
        const opened: { session?: WarpSession } = {};
        const sa = new SessionAccess(access, principal, credential, () => opened.session?.accessExpired());
        opened.session = accept(req, socket, head, sa);
        return;
      }
      if (credential.kind === 'none' || credential.kind === 'certificate') {
        // No anonymous grants (or no roles for certificates): the socket opens with none, to take an @auth.
        accept(req, socket, head, new SessionAccess(access, null, { kind: 'none' }, () => undefined));
        return;
      }
      const e = err instanceof TwinError ? err : new TwinError('TWIN_UNAUTHENTICATED', 'invalid credentials');
      rejections.note(
        'warp.unauthenticated',
        { code: e.code, sender: req.socket.remoteAddress },
        `WARP upgrade refused: ${e.message}`,
      );
      const body = JSON.stringify(e.toJSON());
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nWWW-Authenticate: Bearer realm="twinflow"\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  };

  const accept = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sessionAccess: SessionAccess,
  ): WarpSession | undefined => {
    let opened: WarpSession | undefined;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const encoding = encodingOfSubprotocol(ws.protocol);
      const session = new WarpSession(ws, socket, encoding, ctx, req.socket.remoteAddress, sessionAccess);
      opened = session;
      sessions.set(ws, session);
      alive.add(ws);
      stats.connections++;
      log.debug({ remote: req.socket.remoteAddress, encoding }, 'WARP socket opened');
      ws.on('pong', () => alive.add(ws));
      ws.on('message', (data, isBinary) => {
        alive.add(ws);
        session.receive(data, isBinary);
      });
      // ws closes the socket itself (1009 too large, 1007 bad UTF-8, 1002 protocol): a client's doing, so counted.
      ws.on('error', (err: Error & { code?: string }) =>
        rejections.note(
          err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'warp.frame_too_large' : 'warp.protocol_error',
          { code: err.code, reason: err.message, limit: limits.maxFrameBytes, sender: req.socket.remoteAddress },
          'WARP socket closed: a frame the WebSocket protocol or the frame size limit refuses',
        ),
      );
      ws.on('close', (code, reason) => {
        session.close();
        sessions.delete(ws);
        stats.connections--;
        log.debug({ code, reason: reason.toString() }, 'WARP socket closed');
      });
    });
    return opened;
  };
  server.on('upgrade', onUpgrade);
  // Heartbeat: a socket silent for a whole interval after a ping is half-open; close it
  // (terminate: a close handshake would wait on the same dead peer).
  const heartbeat =
    limits.pingIntervalMs > 0
      ? setInterval(() => {
          for (const [ws, session] of sessions) {
            // A socket the server stopped reading (its commands are being worked off) may
            // have answered: its pong is unread, not missing.
            if (session.holdingInput) alive.add(ws);
            if (!alive.has(ws)) {
              rejections.note(
                'warp.heartbeat_timeout',
                { intervalMs: limits.pingIntervalMs },
                'WARP socket closed: no pong or frame within the ping interval',
              );
              ws.terminate();
              continue;
            }
            alive.delete(ws);
            ws.ping();
          }
        }, limits.pingIntervalMs)
      : undefined;
  heartbeat?.unref();

  return {
    stats() {
      let links = 0;
      let conflations = stats.conflationsClosed;
      let dropped = stats.droppedClosed;
      let overflowingLinks = 0;
      for (const s of sessions.values()) {
        links += s.linkCount;
        conflations += s.conflated;
        dropped += s.dropped;
        overflowingLinks += s.overflowing;
      }
      return {
        ...stats,
        links,
        conflations,
        dropped,
        overflowingLinks,
        eventsEncoded: ctx.encoders.recon.encoded + ctx.encoders.json.encoded,
        eventsShared: ctx.encoders.recon.shared + ctx.encoders.json.shared,
      };
    },
    sessions: () => [...sessions.values()],
    async close() {
      server.off('upgrade', onUpgrade);
      stopReload();
      clearInterval(heartbeat);
      const open = [...sessions.keys()];
      for (const ws of open) ws.close(1001, 'server shutting down');
      // Give close handshakes a moment, then cut whatever is left (a client that does not read).
      const deadline = Date.now() + 200;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      for (const ws of sessions.keys()) ws.terminate();
      wss.close();
    },
  };
}
