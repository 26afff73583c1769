import { WARP_SUBPROTOCOLS, joinFrame, type WarpEncoding } from '../protocol/warp/index.js';
import { PathFilter, TwinPath } from '../topology/index.js';
import { backoffDelay } from './backoff.js';
import { ClientLink, LinkError, type LinkCallbacks } from './client-link.js';
import type { ClientStatus, CommandLaneOf, ReconnectOptions, WebSocketConstructor, WebSocketLike } from './types.js';
import { decodeFrame, encodeEnvelope, encodeHost, type Incoming } from './wire.js';

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
  /** Called when the server answers with an error not tied to a link (malformed envelope). */
  onError?: (message: string) => void;
}

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
  private outbox: string[] = [];
  private flushQueued = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private credentials: unknown;
  private state: ClientStatus = 'connecting';
  private readonly statusListeners = new Set<(s: ClientStatus) => void>();

  constructor(private readonly options: ClientOptions) {
    this.encoding = options.encoding ?? 'recon';
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new TypeError('no WebSocket available: pass options.WebSocket (e.g. the ws package)');
    this.ctor = ctor;
    this.credentials = options.credentials;
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

  /** Sends a command (queued while disconnected; WARP commands are not acknowledged). */
  command(node: string, lane: string, value: unknown): void {
    this.send(encodeEnvelope('command', node, lane, value ?? null, this.encoding));
  }

  /** Sets the credentials sent with `@auth` now and after every reconnect (undefined: `@deauth`). */
  auth(credentials: unknown): void {
    this.credentials = credentials;
    this.send(encodeHost(credentials === undefined ? 'deauth' : 'auth', credentials, this.encoding));
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

  /** Closes the socket for good; links end (iterations return). */
  close(): void {
    this.setStatus('closed');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const wire of this.wires.values()) for (const h of [...wire.handles]) h.close();
    this.wires.clear();
    this.socket?.close(1000, 'client closed');
    this.socket = null;
  }

  // ---- internals ------------------------------------------------------------------

  private open<V>(node: string, lane: string, sync: boolean, callbacks: LinkCallbacks<V>): ClientLink<V> {
    const key = node + '\n' + lane;
    const handle = new ClientLink<V>(node, lane, sync, callbacks, (h) => this.detach(key, h));
    if (this.state === 'closed') {
      handle.close();
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
      this.send(this.linkEnvelope(wire));
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
    if (this.state !== 'closed') this.send(encodeEnvelope('unlink', wire.node, wire.lane, undefined, this.encoding));
  }

  private connect(): void {
    const protocol = this.encoding === 'json' ? WARP_SUBPROTOCOLS.json : WARP_SUBPROTOCOLS.recon;
    let socket: WebSocketLike;
    try {
      const extra = this.options.webSocketOptions;
      socket = extra ? new this.ctor(this.options.url, protocol, extra) : new this.ctor(this.options.url, protocol);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      // Relink everything (the server forgot us) before whatever was queued meanwhile.
      const queued = this.outbox;
      this.outbox = [];
      if (this.credentials !== undefined) this.outbox.push(encodeHost('auth', this.credentials, this.encoding));
      for (const w of this.wires.values()) this.outbox.push(this.linkEnvelope(w));
      this.outbox.push(...queued.filter((m) => !isLinkMessage(m)));
      this.setStatus('open');
      this.flush();
    };
    socket.onmessage = (ev: { data: unknown }) => {
      if (this.socket !== socket) return;
      const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      for (const msg of decodeFrame(text, this.encoding)) this.handle(msg);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.state !== 'closed') this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and decides; nothing to do here (browsers give no detail anyway).
    };
  }

  private scheduleReconnect(): void {
    if (this.options.reconnect === false) {
      this.close();
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

  private send(message: string): void {
    this.outbox.push(message);
    if (!this.flushQueued && this.state === 'open') {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends the outbox as one batched frame (the server reads warp.recon and warp.json batches). */
  private flush(): void {
    this.flushQueued = false;
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    socket.send(joinFrame(batch, this.encoding));
  }

  private setStatus(status: ClientStatus): void {
    if (this.state === status || this.state === 'closed') return;
    this.state = status;
    for (const l of this.statusListeners) l(status);
  }
}

/** Link requests queued while offline are superseded by the relink on open. */
function isLinkMessage(m: string): boolean {
  return /^(@(link|sync|unlink)\(|\{"tag":"(link|sync|unlink)")/.test(m);
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
   */
  command<K extends CommandLaneOf<L>>(lane: K, value: L[K]): void;
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
