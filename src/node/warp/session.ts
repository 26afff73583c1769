import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { TwinError } from '../../errors.js';
import { forbidden } from '../auth/forbidden.js';
import type { Clock } from '../../actors/clock.js';
import type { TwinLogger } from '../../model/twin-model.js';
import { ABSENT, EXTANT, toJs, type Value } from '../../protocol/recon/index.js';
import {
  parseFrame,
  writeFrameEnvelope,
  type Envelope,
  type LinkEnvelope,
  type WarpEncoding,
} from '../../protocol/warp/index.js';
import { PathFilter } from '../../topology/index.js';
import type { Rejections } from '../rejections.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { WarpAuthorizer } from './auth.js';
import type { EventEncoder } from './event-encoder.js';
import { answersCommand, refusalKind, unlinkBody } from './reasons.js';
import { Uplink } from './uplink.js';
import type { WarpLimits, WarpStats } from './limits.js';
import { SocketWriter } from './socket-writer.js';
import { WildcardSlots } from './wildcard-slots.js';
import { laneUnderFilter } from './filter-lanes.js';
import type { LinkGrant, SessionAccess } from './session-access.js';
import { credentialOfAuthBody } from '../auth/credentials.js';
import { rateKeyOf, type IngestQuota } from '../ingest/ingest-quota.js';

/** Everything a session shares with its server. */
export interface SessionContext {
  readonly runtime: Runtime;
  readonly authorize: WarpAuthorizer;
  readonly limits: WarpLimits;
  readonly stats: WarpStats;
  /** One shared encoder per wire format (swim and recon are both Recon). */
  readonly encoders: { readonly recon: EventEncoder; readonly json: EventEncoder };
  readonly log: TwinLogger;
  /** Where refused links are counted (`warp.too_many_links`, `warp.too_many_wildcard_links`). */
  readonly rejections: Rejections;
  /** Times `rate`-limited links (the runtime's clock, so a simulated clock drives them in tests). */
  readonly clock: Clock;
  /** Ingest rate per sender: each command takes one event of it. */
  readonly quota: IngestQuota;
}

/**
 * One WebSocket speaking WARP: reads envelopes, keeps the socket's links (multiplexed,
 * keyed by node and lane as the client wrote them), asks the authorizer, and hands
 * output to its {@link SocketWriter}, which enforces the send budget. Nothing a client
 * sends can throw out of here: bad input becomes an error envelope.
 *
 * @example
 * ```ts
 * const session = new WarpSession(ws, socket, 'json', ctx, req.socket.remoteAddress);
 * ws.on('message', (data, binary) => session.receive(data, binary));
 * ```
 */
export class WarpSession {
  private readonly links = new Map<string, Uplink>();
  /** What each open link was allowed under, re-checked when the principal changes. */
  private readonly linkGrants = new Map<Uplink, LinkGrant>();
  /** Envelopes that arrived while an `@auth` was being checked, handled after it in order. */
  private held: { env: Envelope; json: unknown }[] | null = null;
  private readonly writer: SocketWriter;
  private readonly wildcards: WildcardSlots;
  private credentials: unknown = undefined;
  private closed = false;
  /** Commands handed to the runtime (or its authorizer) and not answered yet. */
  private commandsInFlight = 0;
  /** True while the socket is not read because of {@link commandsInFlight}. */
  private commandsHeld = false;

  constructor(
    private readonly ws: WebSocket,
    socket: Duplex,
    readonly encoding: WarpEncoding,
    private readonly ctx: SessionContext,
    private readonly remoteAddress: string | undefined,
    private readonly access: SessionAccess,
  ) {
    this.writer = new SocketWriter(ws, socket, encoding, ctx.limits, ctx.stats);
    this.wildcards = new WildcardSlots(ctx.limits.maxWildcardLinks);
  }

  /** Open links on this socket. */
  get linkCount(): number {
    return this.links.size;
  }

  /** Wildcard slots held: open wildcard links and unlinked ones whose sync still runs (at most `maxWildcardLinks`). */
  get wildcardLinks(): number {
    return this.wildcards.size;
  }

  /** Conflations of the open links. */
  get conflated(): number {
    let n = 0;
    for (const up of this.links.values()) n += up.conflated;
    return n;
  }

  /** Command/supply events the open links dropped because their queue was full. */
  get dropped(): number {
    let n = 0;
    for (const up of this.links.values()) n += up.dropped;
    return n;
  }

  /** Open links whose command/supply queue is overflowing (dropping) right now. */
  get overflowing(): number {
    let n = 0;
    for (const up of this.links.values()) if (up.overflowing) n++;
    return n;
  }

  /**
   * True while the server does not read this socket because its commands are being worked
   * off: the heartbeat must not take the unread pongs for a dead peer.
   */
  get holdingInput(): boolean {
    return this.commandsHeld;
  }

  /** Bytes and events waiting to be sent (bounded; see SocketWriter). */
  get pending(): { bufferedBytes: number; events: number } {
    return this.writer.pending;
  }

  receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closed) return;
    this.ctx.stats.framesIn++;
    let text: string;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.malformed(`${isBinary ? 'binary' : 'text'} frame is not valid UTF-8`);
      return;
    }
    for (const part of parseFrame(text, this.encoding)) {
      if (!part.ok) this.malformed(part.error.message);
      else this.dispatch(part.envelope, 'json' in part ? part.json : undefined);
    }
  }

  /** The socket closed: drop every link and everything pending. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const up of this.links.values()) this.retire(up, null);
    this.links.clear();
    this.held = null;
    this.access.close();
    this.writer.close();
  }

  /**
   * The access rules changed (a reload): the socket's credential is checked again; if it no
   * longer holds (a revoked token) the client gets `@deauthed`; every link the principal
   * may no longer have is closed with `@unlinked(…)@forbidden`.
   */
  async recheckAccess(): Promise<void> {
    if (this.closed || !this.access.enabled) return;
    const had = this.access.who !== undefined;
    const ok = await this.access.recheck();
    if (this.closed) return;
    // Only a socket that was authenticated is told it no longer is (not every anonymous one, at every reload).
    if (!ok && had) this.writer.control(this.envelope({ tag: 'deauthed', body: ABSENT }));
    this.revalidate();
  }

  /** The principal's credential expired: as a revocation. */
  accessExpired(): void {
    if (this.closed) return;
    this.writer.control(this.envelope({ tag: 'deauthed', body: ABSENT }));
    this.revalidate();
  }

  /** Closes the links the current principal may not have. */
  private revalidate(): void {
    for (const [up, grant] of [...this.linkGrants]) {
      if (!this.access.stillAllowed(grant)) this.fail(up, forbidden('read', up.node));
    }
  }

  /** `json` is the body as a JSON client sent it, which commands and credentials use as is. */
  private dispatch(env: Envelope, json: unknown): void {
    if (this.held) {
      // An @auth is being checked: later envelopes wait for it, in order (bounded like the link table).
      if (this.held.length >= this.ctx.limits.maxLinks) this.malformed('too many envelopes while @auth is checked');
      else this.held.push({ env, json });
      return;
    }
    switch (env.tag) {
      case 'link':
      case 'sync':
        this.open(env);
        break;
      case 'unlink': {
        const up = this.links.get(key(env.node, env.lane));
        const unlinked = this.envelope({ tag: 'unlinked', node: env.node, lane: env.lane, body: ABSENT });
        if (up) {
          this.links.delete(key(env.node, env.lane));
          this.retire(up, unlinked);
        } else {
          this.writer.control(unlinked); // Swim answers an unlink of an unknown link too
        }
        break;
      }
      case 'command':
        this.command(env.node, env.lane, this.encoding === 'json' ? (json ?? null) : bodyToJs(env.body));
        break;
      case 'auth':
        this.credentials = this.encoding === 'json' ? json : toJs(env.body);
        if (!this.access.enabled) this.writer.control(this.envelope({ tag: 'authed', body: ABSENT }));
        else this.auth(credentialOfAuthBody(this.credentials));
        break;
      case 'deauth':
        this.credentials = undefined;
        if (!this.access.enabled) this.writer.control(this.envelope({ tag: 'deauthed', body: ABSENT }));
        else this.authenticate({ kind: 'none' }, true);
        break;
      default:
        this.malformed(`@${env.tag} is sent by servers, not clients`);
    }
  }

  /**
   * `@auth` whose body holds no credential (`@auth`, `@auth{}`, a token that is not a
   * string): the caller meant to sign in and did not. Answered `@deauthed` and counted, as
   * a wrong token is; with `anonymous` grants in the access file it used to be `@authed`
   * while the socket stayed anonymous.
   */
  private auth(credential: Parameters<SessionAccess['authenticate']>[0]): void {
    if (credential.kind !== 'none') return this.authenticate(credential);
    this.ctx.rejections.note(
      'warp.unauthenticated',
      { code: 'TWIN_UNAUTHENTICATED', sender: this.remoteAddress },
      'WARP @auth refused: its body holds no credential (@auth{token:"…"} or @auth "…")',
    );
    this.authenticate(credential, true);
  }

  /** Checks a credential, holding later envelopes meanwhile; answers `@authed` or `@deauthed`. */
  private authenticate(credential: Parameters<SessionAccess['authenticate']>[0], deauth = false): void {
    this.held = [];
    void this.access.authenticate(credential).then((error) => {
      if (this.closed) return;
      if (error && !deauth) {
        this.ctx.rejections.note(
          'warp.unauthenticated',
          { code: error.code, sender: this.remoteAddress },
          `WARP @auth refused: ${error.message}`,
        );
      }
      const tag = error || deauth ? 'deauthed' : 'authed';
      this.writer.control(this.envelope({ tag, body: ABSENT }));
      this.revalidate();
      const held = this.held ?? [];
      this.held = null;
      for (const h of held) this.dispatch(h.env, h.json);
    });
  }

  private open(env: LinkEnvelope): void {
    const k = key(env.node, env.lane);
    const previous = this.links.get(k);
    if (previous) {
      // Relinking the same node and lane replaces the link (a client resync).
      this.links.delete(k);
      this.retire(previous, null);
    }
    const { maxLinks, maxWildcardLinks } = this.ctx.limits;
    if (this.links.size >= maxLinks) {
      this.refuse(env, 'warp.too_many_links', maxLinks, `at most ${maxLinks} links per socket`);
      return;
    }
    const wildcard = PathFilter.isFilter(env.node);
    if (wildcard && this.wildcards.full) {
      this.refuse(
        env,
        'warp.too_many_wildcard_links',
        maxWildcardLinks,
        `at most ${maxWildcardLinks} wildcard links per socket, counting unlinked ones whose sync still runs (--warp-max-wildcard-links); unlink one, or link a narrower or exact node`,
      );
      return;
    }
    const denied = this.access.linkError(env.node, wildcard);
    if (denied) {
      this.ctx.rejections.note(
        'warp.forbidden',
        { node: env.node, lane: env.lane, principal: this.access.who, sender: this.remoteAddress },
        `WARP link refused: ${denied.message}`,
      );
      this.writer.control(
        this.envelope({
          tag: 'unlinked',
          node: env.node,
          lane: env.lane,
          body: unlinkBody(denied, this.ctx.rejections),
        }),
      );
      return;
    }
    const linked: Envelope = {
      tag: 'linked',
      node: env.node,
      lane: env.lane,
      prio: env.prio,
      rate: env.rate,
      body: ABSENT,
    };
    const runtime = this.ctx.runtime;
    const up = new Uplink({
      node: env.node,
      lane: env.lane,
      sync: env.tag === 'sync',
      wildcard,
      encoder: this.encoding === 'json' ? this.ctx.encoders.json : this.ctx.encoders.recon,
      host: this.writer,
      linked: this.envelope(linked),
      synced: this.envelope({ tag: 'synced', node: env.node, lane: env.lane, body: ABSENT }),
      kindOf: (path) => runtime.laneKind(path, env.lane),
      streamLimit: this.ctx.limits.maxQueuedEvents,
      prio: env.prio,
      rate: env.rate,
      clock: this.ctx.clock,
    });
    this.links.set(k, up);
    this.linkGrants.set(up, this.access.grantOf(env.node, wildcard));
    if (wildcard) this.wildcards.hold(up);
    this.ctx.stats.linksOpened++;
    this.authorized(
      'link',
      env.node,
      env.lane,
      () => this.attach(up),
      (error) => this.fail(up, error),
    );
  }

  /** Connects an authorized uplink to the runtime. */
  private attach(up: Uplink): void {
    // Unlinked, or refused by a reload, while the authorizer was deciding: never attach without its grant.
    const grant = this.linkGrants.get(up);
    if (up.isClosed || !grant) return;
    const rt = this.ctx.runtime;
    try {
      if (up.wildcard) {
        // An invalid filter throws here; a lane no model under the filter has is refused too,
        // both before `@linked` (the uplink is not confirmed yet).
        const noLane = laneUnderFilter(rt.catalog.models, PathFilter.parse(up.node), up.lane);
        if (noLane) return this.fail(up, noLane);
        // Within what the principal may read: other twins are not synced, counted or started.
        const link = rt.linkFilter(up.node, up.lane, (event, path) => up.onEvent(event, path), {
          within: grant.scopes,
        });
        up.handle = link;
        up.confirm();
        this.wildcards.syncing(up, link.synced);
        link.synced.then(
          () => up.onSynced(),
          (err) => this.fail(up, err),
        );
      } else {
        const link = rt.link(up.node, up.lane, (event) => up.onEvent(event, up.node), {
          onSynced: () => up.onSynced(),
        });
        up.handle = link;
        link.synced.catch((err) => this.fail(up, err));
      }
    } catch (err) {
      this.fail(up, err);
    }
  }

  private fail(up: Uplink, error: unknown): void {
    if (up.isClosed) return;
    this.noteRefused('link', up.node, up.lane, error);
    if (this.links.get(key(up.node, up.lane)) === up) this.links.delete(key(up.node, up.lane));
    this.retire(
      up,
      this.envelope({ tag: 'unlinked', node: up.node, lane: up.lane, body: unlinkBody(error, this.ctx.rejections) }),
      false,
    );
  }

  private retire(up: Uplink, unlinked: Buffer | null, confirmed = true): void {
    this.ctx.stats.conflationsClosed += up.conflated;
    this.ctx.stats.droppedClosed += up.dropped;
    this.ctx.stats.linksClosed++;
    this.linkGrants.delete(up);
    up.close(unlinked, confirmed);
    this.wildcards.closed(up);
    this.writer.forgetIfFinished(up);
  }

  /** Refuses a link past a per-socket bound: counted, and answered `@unlinked(…)@tooManyLinks`. */
  private refuse(env: LinkEnvelope, kind: string, limit: number, message: string): void {
    this.ctx.rejections.note(
      kind,
      { limit, node: env.node, lane: env.lane, sender: this.remoteAddress },
      `WARP link refused: ${message}`,
    );
    const error = new TwinError('TWIN_LINK_LIMIT', message, { limit });
    this.writer.control(
      this.envelope({ tag: 'unlinked', node: env.node, lane: env.lane, body: unlinkBody(error, this.ctx.rejections) }),
    );
  }

  private command(node: string, lane: string, value: unknown): void {
    const denied = this.access.commandError(node);
    if (denied) {
      this.ctx.rejections.note(
        'warp.forbidden',
        { node, lane, principal: this.access.who, sender: this.remoteAddress },
        `WARP command refused: ${denied.message}`,
      );
      this.commandFailed(node, lane, denied);
      return;
    }
    const overRate = this.overRate(node, lane);
    if (overRate) return this.commandFailed(node, lane, overRate);
    this.commandStarted();
    this.authorized(
      'command',
      node,
      lane,
      () => {
        this.ctx.runtime
          .command(node, lane, value, { fromClient: true })
          .catch((err) => this.commandFailed(node, lane, err))
          .finally(() => this.commandAnswered());
      },
      (err) => {
        this.commandFailed(node, lane, err);
        this.commandAnswered();
      },
    );
  }

  /**
   * WARP has no command acknowledgement, so nothing else makes a client wait for its
   * commands: without this a client writing commands faster than shards commit them grew
   * the node's memory without end (a pending promise and a shard message each). At
   * `maxCommandsInFlight` the socket is no longer read, so the client meets TCP backpressure.
   */
  private commandStarted(): void {
    if (++this.commandsInFlight < this.ctx.limits.maxCommandsInFlight || this.commandsHeld) return;
    this.commandsHeld = true;
    this.ctx.stats.commandStalls++;
    this.ws.pause();
  }

  /** Reads the socket again once half of the held commands are answered (not one frame per answer). */
  private commandAnswered(): void {
    this.commandsInFlight--;
    if (!this.commandsHeld || this.commandsInFlight > this.ctx.limits.maxCommandsInFlight >> 1) return;
    this.commandsHeld = false;
    if (!this.closed) this.ws.resume();
  }

  /** The refusal of a command over the sender's ingest rate (counted), or undefined: it took one event of the rate. */
  private overRate(node: string, lane: string): TwinError | undefined {
    const quota = this.ctx.quota;
    const principal = this.access.current;
    const own = principal?.rate;
    const wait = quota.take(rateKeyOf({ principal, remoteAddress: this.remoteAddress }), 1, own);
    if (wait === 0) return undefined;
    quota.limited('warp');
    this.ctx.rejections.note(
      'warp.rate_limited',
      { node, lane, principal: this.access.who, sender: this.remoteAddress, retryAfterMs: wait },
      'WARP command refused: the sender is over its ingest rate',
    );
    const rate = quota.rateOf(own)!;
    return new TwinError(
      'TWIN_RATE_LIMITED',
      `over the ingest rate of ${rate.eventsPerSecond} events/s (burst ${rate.burst}); retry in ${wait} ms`,
      { retryAfterMs: wait },
    );
  }

  /**
   * WARP has no command acknowledgement. An address error (no such node or lane, denied)
   * is answered with `@unlinked` unless a link to that lane is open, which the answer
   * would wrongly close; everything else is only logged.
   */
  private commandFailed(node: string, lane: string, error: unknown): void {
    this.ctx.stats.commandsFailed++;
    this.ctx.log.debug({ node, lane, err: (error as Error)?.message }, 'WARP command failed');
    this.noteRefused('command', node, lane, error);
    if (this.closed || !answersCommand(error) || this.links.has(key(node, lane))) return;
    this.writer.control(this.envelope({ tag: 'unlinked', node, lane, body: unlinkBody(error, this.ctx.rejections) }));
  }

  /**
   * Counts a link or command the client's input made fail (no such node or lane, a bad
   * path, a value past a bound) with a rate-limited log line, as HTTP and MQTT count theirs:
   * a client chooses how often it is refused.
   */
  private noteRefused(action: 'link' | 'command', node: string, lane: string, error: unknown): void {
    const kind = refusalKind(error);
    if (kind === undefined) return;
    this.ctx.rejections.note(
      kind,
      { node, lane, principal: this.access.who, sender: this.remoteAddress },
      `WARP ${action} refused: ${(error as Error).message}`,
    );
  }

  /** Runs `allow` if the authorizer says yes; synchronous answers keep envelope order. */
  private authorized(
    action: 'link' | 'command',
    node: string,
    lane: string,
    allow: () => void,
    deny: (e: unknown) => void,
  ): void {
    const forbidden = (): TwinError =>
      new TwinError('TWIN_FORBIDDEN', `${action} to ${node}#${lane} denied`, { node, lane });
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = this.ctx.authorize({
        action,
        node,
        lane,
        credentials: this.credentials,
        remoteAddress: this.remoteAddress,
      });
    } catch {
      deny(forbidden());
      return;
    }
    if (verdict === true) allow();
    else if (verdict === false) deny(forbidden());
    else
      Promise.resolve(verdict).then(
        (ok) => (ok === true ? allow() : deny(forbidden())),
        () => deny(forbidden()),
      );
  }

  private malformed(reason: string): void {
    this.ctx.stats.malformed++;
    const error = new TwinError('TWIN_FRAME_MALFORMED', reason.length > 200 ? reason.slice(0, 200) + '…' : reason);
    this.writer.control(
      this.envelope({ tag: 'unlinked', node: '', lane: '', body: unlinkBody(error, this.ctx.rejections) }),
      true,
    );
  }

  private envelope(env: Envelope): Buffer {
    return Buffer.from(writeFrameEnvelope(env, this.encoding), 'utf8');
  }
}

function bodyToJs(body: Value): unknown {
  return body === ABSENT || body === EXTANT ? null : toJs(body);
}

function key(node: string, lane: string): string {
  return node + '\n' + lane;
}
