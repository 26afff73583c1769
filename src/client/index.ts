/**
 * The twinflow client: WARP over WebSocket for Node and browsers. It depends only on the
 * topology and the lane codecs, so it bundles small.
 *
 * @example
 * ```ts
 * import { WarpClient } from 'twinflow/client';
 * const client = new WarpClient({ url: 'ws://127.0.0.1:9001/', encoding: 'json' });
 * client.sync<number | null>('/org/contoso/site/berlin/building/41/floor/3', 'temperature', {
 *   onEvent: (e) => e.type === 'value' && render(e.value),
 * });
 * ```
 * @module
 */
export { CLIENT_DEFAULTS, ClientError, WarpClient, type ClientOptions, type TypedTwin } from './client.js';
export { ClientLink, LinkError, type LinkCallbacks } from './client-link.js';
export { backoffDelay } from './backoff.js';
export type {
  ClientEvent,
  ClientStatus,
  CommandLaneOf,
  LaneTypesOf,
  ReconnectOptions,
  TypedLaneEvent,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
