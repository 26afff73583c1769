import type { ReconnectOptions, WebSocketConstructor } from './types.js';

/**
 * Options of {@link WarpClient}.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { url: 'ws://127.0.0.1:9001/', encoding: 'json', WebSocket };
 * ```
 */
export interface ClientOptions {
  /** `ws://host:port/` of a twinflow node (or any WARP server for the `recon` encoding). */
  url: string;
  /** `recon` (subprotocol warp.recon, the default) or `json` (warp.json). */
  encoding?: 'recon' | 'json';
  /** The WebSocket constructor; default `globalThis.WebSocket` (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Sent as `@auth` on every (re)connect. */
  credentials?: unknown;
  /**
   * Node only: options handed to the WebSocket constructor as its third argument, as the `ws`
   * package takes them, e.g. a private CA and a client certificate for `wss://`:
   * `{ ca: readFileSync('ca.pem'), cert: readFileSync('device.pem'), key: readFileSync('device-key.pem') }`,
   * or `headers: { authorization: 'Bearer …' }`. Browsers trust their own CAs and take no options.
   */
  webSocketOptions?: Record<string, unknown>;
  /** Backoff of automatic reconnects, or false to stay closed after a drop. */
  reconnect?: ReconnectOptions | false;
  /**
   * Called with problems not tied to a link: the server answered an error (a malformed
   * envelope), closed the socket with an error code (1008 policy, 1009 frame too large,
   * 1011, …), or queued commands were dropped because the socket closed with
   * `reconnect: false`.
   */
  onError?: (message: string) => void;
  /**
   * Outgoing envelopes are batched into frames of at most this many bytes (UTF-8; default
   * 64 KiB, see {@link CLIENT_DEFAULTS}). An envelope larger than this goes alone in its
   * own frame, up to `serverMaxFrameBytes`.
   */
  maxFrameBytes?: number;
  /**
   * The largest frame the server takes (a twinflow node's `warp.limits.maxFrameBytes`,
   * default 256 KiB; it closes the socket with 1009 past it). A command, `@auth` or link
   * envelope larger than this is never sent: the call throws a {@link ClientError}
   * (`CLIENT_ENVELOPE_TOO_LARGE`).
   */
  serverMaxFrameBytes?: number;
  /**
   * Bytes (UTF-8) of commands and `@auth`/`@deauth` that may wait in the client for the
   * socket (while disconnected, or behind a slow socket; default 4 MiB). Past it `command`
   * and `auth` throw a {@link ClientError} (`CLIENT_QUEUE_FULL`) and queue nothing. Link
   * requests are not counted (the client keeps one per open link and resends them itself).
   */
  maxQueuedBytes?: number;
  /**
   * Node's `ws` only: the largest frame the client accepts from the server, as `ws`'s
   * `maxPayload` (default 16 MiB; a node sends frames of about 16 KiB plus at most one
   * envelope, i.e. one lane value). A larger frame closes the socket (1009, reported to
   * `onError`) and the client reconnects. Browsers' and Node 22's built-in WebSocket have
   * no such option: there the limit is the browser's.
   */
  maxReceivedFrameBytes?: number;
  /**
   * Rejects a link's `synced` with a `timeout` {@link LinkError} when neither its state nor
   * its confirmation arrived this many ms after `sync`/`link` (the link stays open and
   * still delivers, should the answer come later). Default: no timeout.
   */
  syncTimeoutMs?: number;
}

/**
 * The defaults of the client's bounds (see {@link ClientOptions}).
 *
 * @example
 * ```ts
 * CLIENT_DEFAULTS.maxFrameBytes; // 65536
 * ```
 */
export const CLIENT_DEFAULTS = Object.freeze({
  maxFrameBytes: 64 * 1024,
  serverMaxFrameBytes: 256 * 1024,
  maxQueuedBytes: 4 * 1024 * 1024,
  maxReceivedFrameBytes: 16 * 1024 * 1024,
  healthyAfterMs: 5_000,
});

/**
 * An outgoing message the client refused: the envelope is larger than the server takes
 * (`CLIENT_ENVELOPE_TOO_LARGE`), the queue is full (`CLIENT_QUEUE_FULL`), or the client is
 * closed (`CLIENT_CLOSED`). Nothing of it was queued or sent.
 *
 * @example
 * ```ts
 * try { client.command(unit, 'secure', true); } catch (err) {
 *   if (err instanceof ClientError && err.code === 'CLIENT_QUEUE_FULL') retryLater();
 * }
 * ```
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: 'CLIENT_ENVELOPE_TOO_LARGE' | 'CLIENT_QUEUE_FULL' | 'CLIENT_CLOSED',
    message: string,
  ) {
    super(message);
  }
}

/** Close codes that say nothing went wrong, or nothing more than that the connection is gone. */
export const QUIET_CLOSE_CODES = new Set([1000, 1001, 1005, 1006]);

/** What a close code means, as a suffix of the message `onError` gets. */
export function closeMeaning(code: number): string {
  switch (code) {
    case 1008:
      return ' (policy violation)';
    case 1009:
      return ' (a frame was too large)';
    case 1011:
      return ' (server error)';
    default:
      return '';
  }
}

/** A bound of {@link ClientOptions}, checked: its value or default, a positive integer. */
export function positive(
  options: ClientOptions,
  name: 'maxFrameBytes' | 'serverMaxFrameBytes' | 'maxQueuedBytes' | 'maxReceivedFrameBytes',
): number {
  const v = options[name] ?? CLIENT_DEFAULTS[name];
  if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer (it is ${v})`);
  return v;
}
