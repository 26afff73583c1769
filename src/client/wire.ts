import { ABSENT, EXTANT, fromJs, get, tag, toJs, type Value } from '../protocol/recon/index.js';
import { toWireJs } from '../protocol/wire-js.js';
import {
  laneEventFromBody,
  laneEventFromJson,
  parseFrame,
  writeFrameEnvelope,
  type Envelope,
  type WarpEncoding,
} from '../protocol/warp/index.js';
import type { TypedLaneEvent } from './types.js';

/**
 * What the client needs to know about one received envelope.
 *
 * @example
 * ```ts
 * const m: Incoming = { tag: 'synced', node: '/a', lane: 'b' };
 * ```
 */
export type Incoming =
  | { readonly tag: 'linked' | 'synced' | 'authed' | 'deauthed'; readonly node?: string; readonly lane?: string }
  | { readonly tag: 'event'; readonly node: string; readonly lane: string; readonly event: TypedLaneEvent<unknown> }
  | {
      readonly tag: 'unlinked';
      readonly node: string;
      readonly lane: string;
      /** Tag of the body (`nodeNotFound`, …); undefined for a plain answer to `@unlink`. */
      readonly reason: string | undefined;
      readonly code: string | undefined;
      readonly message: string;
    }
  | { readonly tag: 'error'; readonly message: string };

/**
 * Decodes a received frame (batched or not) into {@link Incoming} messages; never throws.
 *
 * @example
 * ```ts
 * decodeFrame('@event(node:"/a",lane:b)1', 'recon'); // [{ tag: 'event', node: '/a', lane: 'b', event: { type: 'value', value: 1 } }]
 * ```
 */
export function decodeFrame(text: string, encoding: WarpEncoding): Incoming[] {
  const out: Incoming[] = [];
  for (const part of parseFrame(text, encoding)) {
    if (!part.ok) {
      out.push({ tag: 'error', message: part.error.message });
      continue;
    }
    const env = part.envelope;
    try {
      out.push(interpret(env, encoding === 'json' ? part.json : undefined));
    } catch (e) {
      out.push({ tag: 'error', message: (e as Error).message });
    }
  }
  return out;
}

function interpret(env: Envelope, json: unknown): Incoming {
  switch (env.tag) {
    case 'event':
      return {
        tag: 'event',
        node: env.node,
        lane: env.lane,
        event: (json !== undefined ? laneEventFromJson(json) : laneEventFromBody(env.body)) as TypedLaneEvent<unknown>,
      };
    case 'unlinked': {
      const reason = tag(env.body);
      const args = reason === undefined ? ABSENT : get(env.body, reason);
      const code = get(args, 'code');
      const message = get(args, 'message');
      return {
        tag: 'unlinked',
        node: env.node,
        lane: env.lane,
        reason,
        code: typeof code === 'string' ? code : undefined,
        message: typeof message === 'string' ? message : (reason ?? 'unlinked'),
      };
    }
    case 'linked':
    case 'synced':
      return { tag: env.tag, node: env.node, lane: env.lane };
    case 'authed':
    case 'deauthed':
      return { tag: env.tag };
    default:
      return { tag: 'error', message: `unexpected @${env.tag} from the server` };
  }
}

/**
 * Writes a client envelope; `value` bodies are plain JS (JSON-compatible).
 *
 * @example
 * ```ts
 * encodeEnvelope('command', '/unit/1', 'secure', true, 'recon'); // '@command(node:"/unit/1",lane:secure)true'
 * ```
 */
export function encodeEnvelope(
  tagName: 'link' | 'sync' | 'unlink' | 'command',
  node: string,
  lane: string,
  value: unknown,
  encoding: WarpEncoding,
  headers: { readonly prio?: number | undefined; readonly rate?: number | undefined } = {},
): string {
  const { prio, rate } = tagName === 'link' || tagName === 'sync' ? headers : {};
  // A command's Maps, Dates and bytes as the server sends lane values (protocol/wire-js.ts).
  if (value !== undefined) value = toWireJs(value, encoding === 'json' ? 'base64' : 'keep');
  if (encoding === 'json') {
    // Written directly so arrays stay arrays (the server reads JSON bodies as sent).
    return JSON.stringify({
      tag: tagName,
      node,
      lane,
      ...(prio !== undefined ? { prio } : {}),
      ...(rate !== undefined ? { rate } : {}),
      ...(value === undefined ? {} : { body: value }),
    });
  }
  return writeFrameEnvelope({ tag: tagName, node, lane, prio, rate, body: toBody(value) } as Envelope, encoding);
}

/**
 * Writes `@auth` (with credentials) or `@deauth`.
 *
 * @example
 * ```ts
 * encodeHost('auth', { token: 't' }, 'recon'); // '@auth{token:t}'
 * ```
 */
export function encodeHost(tagName: 'auth' | 'deauth', credentials: unknown, encoding: WarpEncoding): string {
  if (encoding === 'json')
    return JSON.stringify(credentials === undefined ? { tag: tagName } : { tag: tagName, body: credentials });
  return writeFrameEnvelope({ tag: tagName, body: toBody(credentials) }, encoding);
}

function toBody(value: unknown): Value {
  if (value === undefined) return ABSENT;
  if (value === null) return EXTANT;
  return fromJs(value);
}

/** Plain JS of a Recon value (exported for apps that read raw bodies). */
export function bodyToJs(body: Value): unknown {
  return body === ABSENT || body === EXTANT ? null : toJs(body);
}
