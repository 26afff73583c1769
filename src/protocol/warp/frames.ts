/**
 * WebSocket framing of WARP, shared by server and client. Three encodings, chosen by the
 * WebSocket subprotocol the client offers:
 *
 * | subprotocol     | encoding | several envelopes per frame                       |
 * | --------------- | -------- | ------------------------------------------------- |
 * | (none)          | Recon    | no: one envelope per frame, as Swim clients expect |
 * | `warp.recon`    | Recon    | yes: compact envelopes separated by `\n`           |
 * | `warp.json`     | JSON     | yes: a JSON array of envelope objects              |
 *
 * Compact Recon never contains a raw newline (strings escape control characters), so
 * splitting a `warp.recon` frame on `\n` is safe. A batched frame may also hold a single
 * envelope (a plain object in JSON), so receivers accept both shapes.
 */
import type { Envelope } from './envelope.js';
import { parseEnvelope, writeEnvelope } from './envelope.js';
import { WarpProtocolError } from './errors.js';
import { parseJsonEnvelope, writeJsonEnvelope } from './json.js';
import { jsonDeeperThan } from './json-depth.js';
import { MAX_DEPTH } from '../recon/value.js';

/** What a JSON frame nested past Recon's bound is told (the frame is refused whole). */
const NESTED_TOO_DEEP = 'unreadable envelope: nested too deep';

/**
 * Name of a WARP wire encoding.
 *
 * @example
 * ```ts
 * const e: WarpEncoding = 'json';
 * ```
 */
export type WarpEncoding = 'swim' | 'recon' | 'json';

/**
 * WebSocket subprotocol of each batched encoding (`swim` uses none).
 *
 * @example
 * ```ts
 * new WebSocket('ws://localhost:9001/', WARP_SUBPROTOCOLS.json);
 * ```
 */
export const WARP_SUBPROTOCOLS = { recon: 'warp.recon', json: 'warp.json' } as const;

/**
 * The encoding a negotiated subprotocol selects (`''` or unknown: Swim's plain Recon).
 *
 * @example
 * ```ts
 * encodingOfSubprotocol('warp.json'); // 'json'
 * ```
 */
export function encodingOfSubprotocol(protocol: string | undefined): WarpEncoding {
  if (protocol === WARP_SUBPROTOCOLS.json) return 'json';
  if (protocol === WARP_SUBPROTOCOLS.recon) return 'recon';
  return 'swim';
}

/**
 * One envelope of a frame, or why that part of the frame could not be read.
 *
 * @example
 * ```ts
 * const part: FramePart = { ok: false, error: new WarpProtocolError('bad') };
 * ```
 */
export type FramePart =
  | {
      readonly ok: true;
      readonly envelope: Envelope;
      /** JSON encoding only: the body exactly as sent (the envelope's Recon body cannot tell `[]` from `{}`). */
      readonly json?: unknown;
    }
  | { readonly ok: false; readonly error: WarpProtocolError };

/**
 * Splits and parses a received frame. Never throws: each unreadable part is reported,
 * and the readable ones around it still count. Blank lines of `warp.recon` are skipped.
 *
 * @example
 * ```ts
 * parseFrame('@sync(node:"/a",lane:b)\n@auth', 'recon').length; // 2
 * ```
 */
export function parseFrame(text: string, encoding: WarpEncoding): FramePart[] {
  if (encoding === 'swim') return [parsePart(text, parseEnvelope)];
  if (encoding === 'recon') {
    const out: FramePart[] = [];
    for (const line of text.split('\n')) if (line.trim() !== '') out.push(parsePart(line, parseEnvelope));
    return out;
  }
  // JSON.parse takes any depth, but re-serialising and reading a body recurse: past the
  // deepest envelope a body may make (Recon's bound, in its array and object), the frame is
  // refused whole, before a stack overflow could name itself to the sender.
  if (jsonDeeperThan(text, MAX_DEPTH + 2)) return [{ ok: false, error: new WarpProtocolError(NESTED_TOO_DEEP) }];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return [{ ok: false, error: new WarpProtocolError(`malformed JSON: ${(e as Error).message}`, { cause: e }) }];
  }
  // Re-serialising each element keeps one strict validator (parseJsonEnvelope) for both shapes.
  return (Array.isArray(json) ? json : [json]).map((item: unknown) => {
    const part = parsePart(item, (i) => parseJsonEnvelope(JSON.stringify(i) ?? 'undefined'));
    return part.ok ? { ...part, json: (item as { body?: unknown }).body } : part;
  });
}

function parsePart<T>(input: T, parse: (input: T) => Envelope): FramePart {
  try {
    return { ok: true, envelope: parse(input) };
  } catch (e) {
    if (e instanceof WarpProtocolError) return { ok: false, error: e };
    // RangeError from hostile nesting and the like: still the sender's fault, not ours.
    return { ok: false, error: new WarpProtocolError(`unreadable envelope: ${(e as Error).message}`, { cause: e }) };
  }
}

/**
 * Writes one envelope in an encoding (`swim` and `recon` are both compact Recon).
 *
 * @example
 * ```ts
 * writeFrameEnvelope({ tag: 'auth', body: ABSENT }, 'json'); // '{"tag":"auth"}'
 * ```
 */
export function writeFrameEnvelope(env: Envelope, encoding: WarpEncoding): string {
  return encoding === 'json' ? writeJsonEnvelope(env) : writeEnvelope(env);
}

/**
 * Joins already-written envelopes into one frame of a batching encoding.
 *
 * @throws {WarpProtocolError} for `swim`, which carries one envelope per frame.
 * @example
 * ```ts
 * joinFrame(['{"tag":"auth"}', '{"tag":"deauth"}'], 'json'); // '[{"tag":"auth"},{"tag":"deauth"}]'
 * ```
 */
export function joinFrame(parts: readonly string[], encoding: WarpEncoding): string {
  if (encoding === 'swim') throw new WarpProtocolError('the swim encoding sends one envelope per frame');
  if (parts.length === 1) return parts[0]!;
  return encoding === 'json' ? `[${parts.join(',')}]` : parts.join('\n');
}
