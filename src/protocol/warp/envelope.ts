/**
 * WARP envelopes (Swim's WebSocket protocol) and their Recon codec.
 *
 * A message is a record whose first attribute names the envelope and carries its
 * headers, followed by the body: `@event(node:"/unit/1",lane:info)"hello"`.
 */
import { ReconSyntaxError } from '../recon/errors.js';
import { parseRecon } from '../recon/reader.js';
import { writeRecon } from '../recon/writer.js';
import { ABSENT, EXTANT, attr, isAttr, isRecord, isSlot, record, slot } from '../recon/value.js';
import { body as bodyOf, withBody } from '../recon/access.js';
import type { Item, Value } from '../recon/value.js';
import { WarpProtocolError } from './errors.js';

/**
 * Tags of envelopes that open or refresh a link and so may carry `prio` and `rate`.
 *
 * @example
 * ```ts
 * const t: LinkTag = 'sync';
 * ```
 */
export type LinkTag = 'link' | 'sync' | 'linked';

/**
 * Tags of envelopes addressed to a lane without link parameters.
 *
 * @example
 * ```ts
 * const t: LaneTag = 'event';
 * ```
 */
export type LaneTag = 'synced' | 'unlink' | 'unlinked' | 'command' | 'event';

/**
 * Tags of envelopes addressed to the host (authentication), which have no node or lane.
 *
 * @example
 * ```ts
 * const t: HostTag = 'auth';
 * ```
 */
export type HostTag = 'auth' | 'authed' | 'deauth' | 'deauthed';

/**
 * Any envelope tag.
 *
 * @example
 * ```ts
 * const t: EnvelopeTag = 'command';
 * ```
 */
export type EnvelopeTag = LinkTag | LaneTag | HostTag;

/**
 * `@link`, `@sync` (client->server) and `@linked` (server->client).
 *
 * @example
 * ```ts
 * const e: LinkEnvelope = { tag: 'sync', node: '/unit/1', lane: 'info', prio: 0.5, body: ABSENT };
 * ```
 */
export interface LinkEnvelope {
  readonly tag: LinkTag;
  readonly node: string;
  readonly lane: string;
  readonly prio?: number | undefined;
  readonly rate?: number | undefined;
  readonly body: Value;
}

/**
 * `@command`, `@unlink` (client->server) and `@event`, `@synced`, `@unlinked` (server->client).
 *
 * @example
 * ```ts
 * const e: LaneEnvelope = { tag: 'event', node: '/unit/1', lane: 'info', body: 'hello' };
 * ```
 */
export interface LaneEnvelope {
  readonly tag: LaneTag;
  readonly node: string;
  readonly lane: string;
  readonly prio?: undefined;
  readonly rate?: undefined;
  readonly body: Value;
}

/**
 * `@auth`, `@deauth` (client->server) and `@authed`, `@deauthed` (server->client).
 *
 * @example
 * ```ts
 * const e: HostEnvelope = { tag: 'auth', body: record(slot('token', 'secret')) };
 * ```
 */
export interface HostEnvelope {
  readonly tag: HostTag;
  readonly node?: undefined;
  readonly lane?: undefined;
  readonly prio?: undefined;
  readonly rate?: undefined;
  readonly body: Value;
}

/**
 * A WARP envelope; narrow on `tag` (or use {@link isLaneAddressed}).
 *
 * @example
 * ```ts
 * const e: Envelope = parseEnvelope('@command(node:"/unit/1",lane:secure)true');
 * ```
 */
export type Envelope = LinkEnvelope | LaneEnvelope | HostEnvelope;

const KINDS: { readonly [tag: string]: 'link' | 'lane' | 'host' | undefined } = Object.assign(Object.create(null), {
  link: 'link',
  sync: 'link',
  linked: 'link',
  synced: 'lane',
  unlink: 'lane',
  unlinked: 'lane',
  command: 'lane',
  event: 'lane',
  auth: 'host',
  authed: 'host',
  deauth: 'host',
  deauthed: 'host',
});

/**
 * Addressing class of `tag` (`link`: node+lane+prio/rate, `lane`: node+lane, `host`:
 * neither), or undefined for unknown tags.
 *
 * @example
 * ```ts
 * envelopeKind('sync'); // 'link'
 * ```
 */
export function envelopeKind(tag: string): 'link' | 'lane' | 'host' | undefined {
  return KINDS[tag];
}

/**
 * True for envelopes that carry `node` and `lane`.
 *
 * @example
 * ```ts
 * if (isLaneAddressed(env)) route(env.node, env.lane);
 * ```
 */
export function isLaneAddressed(env: Envelope): env is LinkEnvelope | LaneEnvelope {
  return KINDS[env.tag] !== 'host';
}

/**
 * Parses a WARP message in Recon form. Headers may be named (`node:`, `lane:`, `prio:`,
 * `rate:`) or positional (`@link("/a",b)`); unknown named headers are ignored, as Swim does.
 *
 * @throws {WarpProtocolError} on malformed Recon (with the ReconSyntaxError as `cause`),
 *   unknown tags, missing node/lane, duplicate or mistyped headers.
 * @example
 * ```ts
 * parseEnvelope('@event(node:"/unit/1",lane:info)"hello"');
 * // { tag: 'event', node: '/unit/1', lane: 'info', body: 'hello' }
 * ```
 */
export function parseEnvelope(text: string): Envelope {
  let value: Value;
  try {
    value = parseRecon(text);
  } catch (e) {
    if (e instanceof ReconSyntaxError) throw new WarpProtocolError(`malformed Recon: ${e.message}`, { cause: e });
    throw e;
  }
  return envelopeFromValue(value);
}

/**
 * Interprets an already-parsed Recon value as an envelope (see {@link parseEnvelope}).
 *
 * @example
 * ```ts
 * envelopeFromValue(parseRecon('@auth'));  // { tag: 'auth', body: ABSENT }
 * ```
 */
export function envelopeFromValue(value: Value): Envelope {
  const first = isRecord(value) ? value.items[0] : undefined;
  if (!isAttr(first)) throw new WarpProtocolError('not a WARP envelope: expected a leading @tag attribute');
  const tag = first.key;
  const kind = KINDS[tag];
  if (kind === undefined) throw new WarpProtocolError(`unknown envelope tag @${tag}`);
  const body = bodyOf(value);
  // Host envelopes ignore their attribute's arguments, like Swim.
  if (kind === 'host') return { tag: tag as HostTag, body };
  const h = readHeaders(tag, first.value, kind === 'link');
  if (h.node === undefined) throw new WarpProtocolError(`${tag} envelope is missing the node header`);
  if (h.lane === undefined) throw new WarpProtocolError(`${tag} envelope is missing the lane header`);
  if (kind === 'lane') return { tag: tag as LaneTag, node: h.node, lane: h.lane, body };
  const env: { tag: LinkTag; node: string; lane: string; prio?: number; rate?: number; body: Value } = {
    tag: tag as LinkTag,
    node: h.node,
    lane: h.lane,
    body,
  };
  if (h.prio !== undefined) env.prio = h.prio;
  if (h.rate !== undefined) env.rate = h.rate;
  return env;
}

interface Headers {
  node?: string;
  lane?: string;
  prio?: number;
  rate?: number;
}

function readHeaders(tag: string, args: Value, link: boolean): Headers {
  const items: readonly Item[] = isRecord(args) ? args.items : args === ABSENT || args === EXTANT ? [] : [args];
  const h: Headers = {};
  const set = (name: keyof Headers, v: Value): void => {
    if (h[name] !== undefined) throw new WarpProtocolError(`${tag} envelope has a duplicate ${name} header`);
    if (name === 'node' || name === 'lane') {
      if (typeof v !== 'string')
        throw new WarpProtocolError(`${tag} envelope ${name} header must be text, got ${describe(v)}`);
      h[name] = v;
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new WarpProtocolError(`${tag} envelope ${name} header must be a finite number, got ${describe(v)}`);
      }
      h[name] = v;
    }
  };
  items.forEach((item, i) => {
    if (isSlot(item)) {
      const key = item.key;
      if (key === 'node' || key === 'lane' || (link && (key === 'prio' || key === 'rate'))) set(key, item.value);
    } else if (isAttr(item)) {
      throw new WarpProtocolError(`${tag} envelope headers may not contain attributes (@${item.key})`);
    } else if (i < 2) {
      set(i === 0 ? 'node' : 'lane', item);
    } else {
      throw new WarpProtocolError(`${tag} envelope has an unexpected positional header at index ${i}`);
    }
  });
  return h;
}

function describe(v: Value): string {
  if (typeof v === 'string') return 'text';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (v instanceof Uint8Array) return 'data';
  return v.kind;
}

/**
 * Checks an envelope built in code before it is written.
 *
 * @throws {WarpProtocolError} for unknown tags, missing/mistyped node or lane, non-finite
 *   prio/rate, or link parameters on envelopes that cannot carry them.
 * @example
 * ```ts
 * checkEnvelope({ tag: 'event', node: '/a', lane: 'b', body: 1 }); // ok
 * ```
 */
export function checkEnvelope(env: Envelope): void {
  // Read through a loose view: envelopes often come from untyped JS despite the signature.
  const e = env as { tag: unknown; node?: unknown; lane?: unknown; prio?: unknown; rate?: unknown };
  const kind = typeof e.tag === 'string' ? KINDS[e.tag] : undefined;
  if (kind === undefined) throw new WarpProtocolError(`unknown envelope tag @${String(e.tag)}`);
  const tag = e.tag as string;
  if (kind === 'host') {
    if (e.node !== undefined || e.lane !== undefined) {
      throw new WarpProtocolError(`${tag} envelope cannot carry node or lane`);
    }
  } else {
    if (typeof e.node !== 'string') throw new WarpProtocolError(`${tag} envelope needs a text node`);
    if (typeof e.lane !== 'string') throw new WarpProtocolError(`${tag} envelope needs a text lane`);
  }
  for (const name of ['prio', 'rate'] as const) {
    const v = e[name];
    if (v === undefined) continue;
    if (kind !== 'link') throw new WarpProtocolError(`${tag} envelope cannot carry ${name}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new WarpProtocolError(`${name} must be a finite number`);
  }
}

/**
 * The Recon value of an envelope: `@tag(headers)` followed by the body (see {@link withBody}).
 *
 * @example
 * ```ts
 * writeRecon(envelopeToValue({ tag: 'auth', body: ABSENT })); // '@auth'
 * ```
 */
export function envelopeToValue(env: Envelope): Value {
  checkEnvelope(env);
  if (env.node === undefined || env.lane === undefined) return withBody(attr(env.tag), env.body);
  const headers: Item[] = [slot('node', env.node), slot('lane', env.lane)];
  if (env.prio !== undefined) headers.push(slot('prio', env.prio));
  if (env.rate !== undefined) headers.push(slot('rate', env.rate));
  return withBody(attr(env.tag, record(...headers)), env.body);
}

/**
 * Writes an envelope as compact Recon. A body of ABSENT or EXTANT is omitted.
 *
 * @throws {WarpProtocolError} if the envelope is invalid (see {@link checkEnvelope}).
 * @example
 * ```ts
 * writeEnvelope({ tag: 'sync', node: '/unit/1', lane: 'info', body: ABSENT });
 * // '@sync(node:"/unit/1",lane:info)'
 * ```
 */
export function writeEnvelope(env: Envelope): string {
  return writeRecon(envelopeToValue(env));
}
