/**
 * Types of the twinflow client: the WebSocket it needs (browser's or `ws`), typed lane
 * events, and a helper that reads lane types off a model without importing the runtime.
 */

/**
 * The part of the WebSocket API the client uses; both the browser's `WebSocket` and the
 * `ws` package's satisfy it.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws';
 * const ctor: WebSocketConstructor = WebSocket;
 * ```
 */
export interface WebSocketLike {
  readonly readyState: number;
  /**
   * Bytes handed to `send` and not yet written to the network (both the browser's and `ws`
   * have it). The client hands frames over only while it is below a budget; without it
   * the client cannot tell, and hands over everything at once.
   */
  readonly bufferedAmount?: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/**
 * A WebSocket constructor (`globalThis.WebSocket` in browsers and Node 22+, `ws` in Node 20).
 *
 * @example
 * ```ts
 * const ctor: WebSocketConstructor = globalThis.WebSocket as unknown as WebSocketConstructor;
 * ```
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  /** Node's `ws` only (browsers take two arguments): TLS trust and client certificates, headers. */
  options?: Record<string, unknown>,
) => WebSocketLike;

/**
 * A lane event with a typed value: value lanes send `value`, map and join lanes
 * `update`/`remove`/`clear`.
 *
 * @example
 * ```ts
 * const e: TypedLaneEvent<number> = { type: 'value', value: 21.5 };
 * ```
 */
export type TypedLaneEvent<V> =
  | { readonly type: 'value'; readonly value: V }
  | { readonly type: 'update'; readonly key: string; readonly value: V }
  | { readonly type: 'remove'; readonly key: string }
  | { readonly type: 'clear' };

/**
 * One event as a link delivers it, naming the concrete node (wildcard links span many).
 *
 * @example
 * ```ts
 * for await (const { node, event } of link) console.log(node, event);
 * ```
 */
export interface ClientEvent<V = unknown> {
  readonly node: string;
  readonly lane: string;
  readonly event: TypedLaneEvent<V>;
}

/** The value type of one lane spec: a value lane's value, a map/join lane's entry, a command. */
type LaneValue<S> = S extends { readonly kind: 'value'; readonly initial: infer T }
  ? T
  : S extends { readonly kind: 'command'; readonly parse: ((raw: unknown) => infer C) | undefined }
    ? C
    : S extends { create(...args: any[]): { get(key: string): infer V } }
      ? Exclude<V, undefined>
      : unknown;

/** Lanes a network client may command: command lanes, and value lanes not known to be computed (`writable` not `false`). */
type TakesCommands<S> = S extends { readonly kind: 'command' }
  ? true
  : S extends { readonly kind: 'value'; readonly writable: infer W }
    ? true extends W
      ? true
      : false
    : false;

/** Type-level only: the key under which {@link LaneTypesOf} lists the lanes that take commands. */
declare const commandLanes: unique symbol;

/**
 * Lane name → value type of a model, read structurally from its definition, so apps can
 * type their links from the model they deploy without bundling the runtime. It also
 * records (under a symbol key, invisible to `keyof … & string`) which lanes take client
 * commands, so {@link TypedTwin.command} refuses the others at compile time.
 *
 * @example
 * ```ts
 * import type { unitModel } from '../models/unit.js';
 * type Unit = LaneTypesOf<ReturnType<typeof unitModel>>;   // { secured: boolean; secure: boolean; … }
 * client.twin<Unit>('/org/contoso/site/berlin/building/41/floor/3/unit/j').sync('secured'); // ClientLink<boolean>
 * ```
 */
export type LaneTypesOf<M> = M extends { readonly def: { readonly lanes: infer L } }
  ? { [K in keyof L & string]: LaneValue<L[K]> } & {
      readonly [commandLanes]?: { [K in keyof L & string]: TakesCommands<L[K]> extends true ? K : never }[keyof L &
        string];
    }
  : never;

/**
 * The lanes of `L` a client may command: with a map from {@link LaneTypesOf}, its command
 * lanes and writable value lanes; with a hand-written map (no model to ask), every lane.
 *
 * @example
 * ```ts
 * type Unit = LaneTypesOf<ReturnType<typeof unitModel>>;
 * const lane: CommandLaneOf<Unit> = 'secure'; // 'secured' would not compile: the model computes it
 * ```
 */
export type CommandLaneOf<L> = typeof commandLanes extends keyof L
  ? NonNullable<L[typeof commandLanes]> & keyof L & string
  : keyof L & string;

/**
 * Reconnection policy: exponential backoff with jitter, capped.
 *
 * @example
 * ```ts
 * const r: ReconnectOptions = { initialDelayMs: 100, maxDelayMs: 10_000 };
 * ```
 */
export interface ReconnectOptions {
  /** First delay (default 250 ms). */
  initialDelayMs?: number;
  /** Cap (default 15 s). */
  maxDelayMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Random extra fraction of each delay, 0..1 (default 0.2), so clients do not reconnect in lockstep. */
  jitter?: number;
  /**
   * A connection that stayed open this long was healthy: the delay after it drops starts
   * again from `initialDelayMs` (default 5 s). One that drops sooner (a server that accepts
   * and closes at once) counts as a failed attempt, so the delay keeps growing.
   */
  healthyAfterMs?: number;
}

/**
 * Connection state of a client.
 *
 * @example
 * ```ts
 * client.onStatus((s: ClientStatus) => s === 'open' && console.log('live'));
 * ```
 */
export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';
