import { WARP_SUBPROTOCOLS, type WarpEncoding } from '../protocol/warp/index.js';
import { PathFilter, TwinPath } from '../topology/index.js';
import { backoffDelay } from './backoff.js';
import { ClientLink, LinkError, type LinkCallbacks } from './client-link.js';
import type { ClientStatus, CommandLaneOf, WebSocketConstructor, WebSocketLike } from './types.js';
import { decodeFrame, encodeEnvelope, encodeHost, type Incoming } from './wire.js';
import {
  CLIENT_DEFAULTS,
  ClientError,
  closeMeaning,
  positive,
  QUIET_CLOSE_CODES,
  type ClientOptions,
} from './client-options.js';
import { utf8Length } from './fifo.js';
import { SendQueue, type OutgoingKind } from './send-queue.js';

export { CLIENT_DEFAULTS, ClientError, type ClientOptions } from './client-options.js';

/** One WARP link on the wire, shared by every handle on the same node and lane. */
interface Wire {
  readonly node: string;
  readonly lane: string;
  readonly filter: PathFilter | null;
  sync: boolean;
  /** Link headers: the highest `prio` and the smallest `rate` its handles asked for. */
  prio?: number | undefined;
  rate?: number | undefined;
  readonly handles: Set<ClientLink<any>>;
}

/**
 * The twinflow client for Node and browsers: links to lanes over WARP, sends commands,
 * and reconnects by itself, relinking and resyncing every open link.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws';
 * const client = new WarpClient({ url: 'ws://127.0.0.1:9001/', WebSocket });
 * const secured = client.sync<boolean>('/org/contoso/site/berlin/building/41/floor/3/unit/j', 'secured');
 * client.command('/org/contoso/site/berlin/building/41/floor/3/unit/j', 'secure', true);
 * for await (const { event } of secured) if (event.type === 'value' && event.value) break;
 * client.close();
 * ```
 */
export class WarpClient {
  private readonly encoding: WarpEncoding;
  private readonly ctor: WebSocketConstructor;
  private readonly wires = new Map<string, Wire>();
  private socket: WebSocketLike | null = null;
  /** Envelopes not yet handed to the socket, oldest first (bounded by maxQueuedBytes). */
  private readonly outbox: SendQueue;
  private attempt = 0;
  /** When the current socket opened (0: not open). */
  private openedAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private credentials: unknown;
  private state: ClientStatus = 'connecting';
  private readonly statusListeners = new Set<(s: ClientStatus) => void>();

  constructor(private readonly options: ClientOptions) {
    this.encoding = options.encoding ?? 'recon';
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new TypeError('no WebSocket available: pass options.WebSocket (e.g. the ws package)');
    this.ctor = ctor;
    const serverMaxFrameBytes = positive(options, 'serverMaxFrameBytes');
    const limits = {
      serverMaxFrameBytes,
      maxFrameBytes: Math.min(positive(options, 'maxFrameBytes'), serverMaxFrameBytes),
      maxQueuedBytes: positive(options, 'maxQueuedBytes'),
    };
    this.outbox = new SendQueue(this.encoding, limits, () => this.socket);
    positive(options, 'maxReceivedFrameBytes');
    this.credentials = options.credentials;
    // Sent on every connect: one the server refuses would close every socket (1009).
    if (options.credentials !== undefined)
      this.outbox.checkSize(utf8Length(encodeHost('auth', options.credentials, this.encoding)), '@auth');
    this.connect();
  }

  get status(): ClientStatus {
    return this.state;
  }

  /** Calls `listener` on every status change; returns a function that stops it. */
  onStatus(listener: (status: ClientStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Links to a lane: changes only (`@link`). `node` may be a wildcard filter. */
  link<V = unknown>(node: string, lane: string, callbacks: LinkCallbacks<V> = {}): ClientLink<V> {
    return this.open(node, lane, false, callbacks);
  }

  /** Links to a lane with its current state first (`@sync`), then changes. */
  sync<V = unknown>(node: string, lane: string, callbacks: LinkCallbacks<V> = {}): ClientLink<V> {
    return this.open(node, lane, true, callbacks);
  }

  /**
   * Sends a command (queued while disconnected; WARP commands are not acknowledged).
   * Throws a {@link ClientError} and queues nothing when the envelope is larger than
   * `serverMaxFrameBytes`, when `maxQueuedBytes` are already waiting, or after `close()`.
   */
  command(node: string, lane: string, value: unknown): void {
    this.enqueue(encodeEnvelope('command', node, lane, value ?? null, this.encoding), 'other', 'command');
  }

  /**
   * Sets the credentials sent with `@auth` now and after every reconnect (undefined:
   * `@deauth`). Throws a {@link ClientError} like {@link command}, keeping the old credentials.
   */
  auth(credentials: unknown): void {
    const text = encodeHost(credentials === undefined ? 'deauth' : 'auth', credentials, this.encoding);
    this.enqueue(text, 'auth', credentials === undefined ? '@deauth' : '@auth');
    this.credentials = credentials;
  }

  /**
   * A typed view of one twin: lane names and value types come from `L` (see LaneTypesOf).
   *
   * @example
   * ```ts
   * const unit = client.twin<{ secured: boolean; secure: boolean }>('/org/…/unit/j');
   * unit.sync('secured');           // ClientLink<boolean>
   * unit.command('secure', true);
   * ```
   */
  twin<L extends Record<string, unknown>>(node: string): TypedTwin<L> {
    return {
      node,
      link: (lane, callbacks) => this.link(node, lane, callbacks),
      sync: (lane, callbacks) => this.sync(node, lane, callbacks),
      command: (lane, value) => this.command(node, lane, value),
    };
  }

  /**
   * Closes the socket for good; links end (iterations return, a pending `synced` rejects
   * with a `clientClosed` LinkError). Commands still queued are dropped.
   */
  close(): void {
    this.shutdown('the client was closed');
  }

  // ---- internals ------------------------------------------------------------------

  private shutdown(why: string): void {
    if (this.state === 'closed') return;
    this.setStatus('closed');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.outbox.clear();
    for (const wire of this.wires.values())
      for (const h of [...wire.handles])
        h.end(new LinkError('clientClosed', 'CLIENT_CLOSED', why, wire.node, wire.lane));
    this.wires.clear();
    this.socket?.close(1000, 'client closed');
    this.socket = null;
  }

  private open<V>(node: string, lane: string, sync: boolean, callbacks: LinkCallbacks<V>): ClientLink<V> {
    const key = node + '\n' + lane;
    if (this.state !== 'closed') {
      // Refused before anything changes: the server would close the socket on it (1009).
      const envelope = encodeEnvelope(sync ? 'sync' : 'link', node, lane, undefined, this.encoding, callbacks);
      this.outbox.checkSize(utf8Length(envelope), sync ? '@sync' : '@link');
    }
    const timeout = this.options.syncTimeoutMs;
    const handle = new ClientLink<V>(node, lane, sync, callbacks, (h) => this.detach(key, h), timeout);
    if (this.state === 'closed') {
      handle.end(new LinkError('clientClosed', 'CLIENT_CLOSED', 'the client is closed', node, lane));
      return handle;
    }
    let wire = this.wires.get(key);
    const fresh = !wire;
    if (!wire) {
      wire = {
        node,
        lane,
        sync,
        handles: new Set(),
        filter: PathFilter.isFilter(node) ? PathFilter.parse(node) : null,
      };
      this.wires.set(key, wire);
    }
    wire.handles.add(handle);
    // One server link per node and lane: the highest prio and the smallest rate asked for.
    const prio = maxDefined(wire.prio, callbacks.prio);
    const rate = minDefined(wire.rate, callbacks.rate);
    const headersChanged = prio !== wire.prio || rate !== wire.rate;
    wire.prio = prio;
    wire.rate = rate;
    // A new wire, a sync joining a link-only wire (so this handle gets the state), or new headers: (re)send.
    if (fresh || sync || headersChanged) {
      wire.sync ||= sync;
      this.enqueue(this.linkEnvelope(wire), 'link');
    }
    return handle;
  }

  private linkEnvelope(wire: Wire): string {
    return encodeEnvelope(wire.sync ? 'sync' : 'link', wire.node, wire.lane, undefined, this.encoding, {
      prio: wire.prio,
      rate: wire.rate,
    });
  }

  private detach(key: string, handle: ClientLink<any>): void {
    const wire = this.wires.get(key);
    if (!wire?.handles.delete(handle) || wire.handles.size > 0) return;
    this.wires.delete(key);
    if (this.state !== 'closed')
      this.enqueue(encodeEnvelope('unlink', wire.node, wire.lane, undefined, this.encoding), 'link');
  }

  private connect(): void {
    const protocol = this.encoding === 'json' ? WARP_SUBPROTOCOLS.json : WARP_SUBPROTOCOLS.recon;
    let socket: WebSocketLike;
    try {
      const { url, WebSocket: given, webSocketOptions: extra } = this.options;
      // ws's third argument; only for a constructor the app passed (browsers ignore it anyway).
      const maxPayload = this.options.maxReceivedFrameBytes ?? CLIENT_DEFAULTS.maxReceivedFrameBytes;
      socket = given || extra ? new this.ctor(url, protocol, { maxPayload, ...extra }) : new this.ctor(url, protocol);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.openedAt = Date.now();
      // The credentials, then a relink of everything (the server forgot us), before the
      // commands queued meanwhile; links and auths still queued are superseded by these.
      const first: { text: string; kind: OutgoingKind }[] = [];
      if (this.credentials !== undefined)
        first.push({ text: encodeHost('auth', this.credentials, this.encoding), kind: 'auth' });
      for (const w of this.wires.values()) first.push({ text: this.linkEnvelope(w), kind: 'link' });
      this.setStatus('open');
      this.outbox.reopen(first);
    };
    socket.onmessage = (ev: { data: unknown }) => {
      if (this.socket !== socket) return;
      const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      for (const msg of decodeFrame(text, this.encoding)) this.handle(msg);
    };
    socket.onclose = (ev: { code?: number; reason?: string } | undefined) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Only a connection that stayed open a while resets the backoff: a server that
      // accepts and closes at once must not be hit a few times a second forever.
      const healthyAfter = (this.options.reconnect || {}).healthyAfterMs ?? CLIENT_DEFAULTS.healthyAfterMs;
      if (this.openedAt > 0 && Date.now() - this.openedAt >= healthyAfter) this.attempt = 0;
      this.openedAt = 0;
      this.outbox.socketClosed();
      if (this.state === 'closed') return;
      const code = ev?.code;
      if (code !== undefined && !QUIET_CLOSE_CODES.has(code))
        this.options.onError?.(
          `the socket closed with ${code}${closeMeaning(code)}${ev?.reason ? `: ${ev.reason}` : ''}`,
        );
      this.scheduleReconnect();
    };
    socket.onerror = (ev: { message?: unknown; error?: { code?: unknown } } | undefined) => {
      // onclose follows and decides. Browsers give no detail; ws does, e.g. for a frame past
      // maxPayload (then closes with 1006). Failed connects are not reported (the backoff retries).
      if (this.socket !== socket || this.openedAt === 0 || this.state === 'closed') return;
      const message = typeof ev?.message === 'string' ? ev.message : '';
      if (!message) return;
      const tooLarge = ev?.error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      this.options.onError?.(
        `the socket failed: ${message}${tooLarge ? ` (a frame from the server was larger than maxReceivedFrameBytes)` : ''}`,
      );
    };
  }

  private scheduleReconnect(): void {
    if (this.options.reconnect === false) {
      const dropped = this.outbox.waiting;
      if (dropped > 0)
        this.options.onError?.(`${dropped} queued message(s) dropped: the socket closed and reconnect is false`);
      this.shutdown('the socket closed and reconnect is false');
      return;
    }
    this.setStatus('reconnecting');
    const delay = backoffDelay(this.attempt++, this.options.reconnect || {});
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'closed') this.connect();
    }, delay);
  }

  private handle(msg: Incoming): void {
    if (msg.tag === 'error') {
      this.options.onError?.(msg.message);
      return;
    }
    if (msg.tag === 'authed' || msg.tag === 'deauthed') return;
    if (msg.tag === 'unlinked' && msg.node === '' && msg.lane === '') {
      this.options.onError?.(msg.message);
      return;
    }
    const node = msg.node!;
    const lane = msg.lane!;
    const exact = this.wires.get(node + '\n' + lane);
    switch (msg.tag) {
      case 'event':
        if (exact) for (const h of exact.handles) h.deliver(msg.event, node);
        for (const w of this.matchingFilters(node, lane)) for (const h of w.handles) h.deliver(msg.event, node);
        break;
      case 'linked':
        if (exact) for (const h of exact.handles) h.markLinked();
        break;
      case 'synced':
        if (exact) for (const h of exact.handles) h.markSynced();
        break;
      case 'unlinked':
        if (exact && msg.reason !== undefined) {
          this.wires.delete(node + '\n' + lane);
          const error = new LinkError(msg.reason, msg.code, msg.message, node, lane);
          for (const h of [...exact.handles]) h.fail(error);
        }
        break;
    }
  }

  private *matchingFilters(node: string, lane: string): Iterable<Wire> {
    let path: TwinPath | null = null;
    for (const w of this.wires.values()) {
      if (!w.filter || w.lane !== lane) continue;
      try {
        path ??= TwinPath.parse(node);
      } catch {
        return;
      }
      if (w.filter.matches(path)) yield w;
    }
  }

  /**
   * Queues one envelope for the next flush. `what` names a refusable message (a command,
   * `@auth`): one the server would refuse, or past `maxQueuedBytes`, throws instead.
   */
  private enqueue(text: string, kind: OutgoingKind, what?: string): void {
    if (this.state === 'closed') {
      if (what === undefined) return;
      throw new ClientError('CLIENT_CLOSED', `${what} not sent: the client is closed`);
    }
    this.outbox.push(text, kind, what, this.state);
    if (this.state === 'open') this.outbox.flushSoon();
  }

  private setStatus(status: ClientStatus): void {
    if (this.state === status || this.state === 'closed') return;
    this.state = status;
    for (const l of this.statusListeners) l(status);
  }
}

/**
 * A typed view of one twin (see {@link WarpClient.twin}).
 *
 * @example
 * ```ts
 * const floor: TypedTwin<{ temperature: number | null }> = client.twin('/org/…/floor/3');
 * ```
 */
export interface TypedTwin<L extends Record<string, unknown>> {
  readonly node: string;
  link<K extends keyof L & string>(lane: K, callbacks?: LinkCallbacks<L[K]>): ClientLink<L[K]>;
  sync<K extends keyof L & string>(lane: K, callbacks?: LinkCallbacks<L[K]>): ClientLink<L[K]>;
  /**
   * Sends a command to one of the twin's lanes. With `L` from {@link LaneTypesOf}, only
   * command lanes and value lanes declared `writable: true` compile (see
   * {@link CommandLaneOf}); the server refuses the others anyway (`TWIN_LANE_KIND`).
   * Throws a {@link ClientError} as {@link WarpClient.command} does.
   */
  command<K extends CommandLaneOf<L>>(lane: K, value: L[K]): void;
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
