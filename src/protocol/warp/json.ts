/**
 * JSON flavour of WARP for web apps that would rather not parse Recon:
 * `{"tag":"event","node":"/a","lane":"b","body":<json>}`. Bodies go through
 * toJs/fromJs, except map-lane bodies, which get dedicated shapes:
 * `{"update":{"key":k,"value":v}}`, `{"remove":{"key":k}}`, `{"clear":true}`,
 * `{"take":n}`, `{"drop":n}`. Any other body whose JSON would look like one of those
 * (or like the escape itself) is wrapped as `{"$value":<json>}` so decoding is unambiguous.
 */
import { encodeBase64 } from '../recon/base64.js';
import { fromJs, toJs } from '../recon/js.js';
import { ABSENT } from '../recon/value.js';
import type { Value } from '../recon/value.js';
import { checkEnvelope, envelopeKind } from './envelope.js';
import type { Envelope, HostTag, LaneTag, LinkTag } from './envelope.js';
import { WarpProtocolError } from './errors.js';
import { isMapBody, parseMapBody, writeMapBody } from './map-body.js';
import type { MapAction } from './map-body.js';

const RESERVED = new Set(['update', 'remove', 'clear', 'take', 'drop', '$value']);
const FIELDS = new Set(['tag', 'node', 'lane', 'prio', 'rate', 'body']);

/**
 * Writes an envelope as a JSON string. An ABSENT body is omitted; EXTANT is `null`;
 * data becomes a base64 string and NaN/±Infinity become strings (JSON has neither).
 *
 * @throws {WarpProtocolError} if the envelope is invalid (see checkEnvelope).
 * @example
 * ```ts
 * writeJsonEnvelope({ tag: 'event', node: '/a', lane: 'b', body: mapUpdate('k', 1) });
 * // '{"tag":"event","node":"/a","lane":"b","body":{"update":{"key":"k","value":1}}}'
 * ```
 */
export function writeJsonEnvelope(env: Envelope): string {
  checkEnvelope(env);
  const out: { [field: string]: unknown } = { tag: env.tag };
  if (env.node !== undefined) out['node'] = env.node;
  if (env.lane !== undefined) out['lane'] = env.lane;
  if (env.prio !== undefined) out['prio'] = env.prio;
  if (env.rate !== undefined) out['rate'] = env.rate;
  if (env.body !== ABSENT) out['body'] = bodyToJson(env.body);
  return JSON.stringify(out);
}

/**
 * Parses and strictly validates a JSON envelope: unknown fields, unknown tags, missing or
 * mistyped node/lane, prio/rate outside link envelopes and malformed map bodies are rejected.
 *
 * @throws {WarpProtocolError} with a reason naming the offending field.
 * @example
 * ```ts
 * parseJsonEnvelope('{"tag":"command","node":"/unit/1","lane":"secure","body":true}');
 * // { tag: 'command', node: '/unit/1', lane: 'secure', body: true }
 * ```
 */
export function parseJsonEnvelope(text: string): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WarpProtocolError(`malformed JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isPlainObject(json)) throw new WarpProtocolError('JSON envelope must be an object');
  for (const field of Object.keys(json)) {
    if (!FIELDS.has(field)) throw new WarpProtocolError(`JSON envelope has unknown field "${field}"`);
  }
  const tag = json['tag'];
  if (typeof tag !== 'string') throw new WarpProtocolError('JSON envelope "tag" must be a string');
  const kind = envelopeKind(tag);
  if (kind === undefined) throw new WarpProtocolError(`unknown envelope tag "${tag}"`);
  const body = 'body' in json ? bodyFromJson(json['body']) : ABSENT;
  if (kind === 'host') {
    for (const f of ['node', 'lane', 'prio', 'rate']) {
      if (f in json) throw new WarpProtocolError(`${tag} envelope cannot carry "${f}"`);
    }
    return { tag: tag as HostTag, body };
  }
  const node = json['node'];
  const lane = json['lane'];
  if (typeof node !== 'string') throw new WarpProtocolError(`${tag} envelope "node" must be a string`);
  if (typeof lane !== 'string') throw new WarpProtocolError(`${tag} envelope "lane" must be a string`);
  if (kind === 'lane') {
    for (const f of ['prio', 'rate']) {
      if (f in json) throw new WarpProtocolError(`${tag} envelope cannot carry "${f}"`);
    }
    return { tag: tag as LaneTag, node, lane, body };
  }
  const env: { tag: LinkTag; node: string; lane: string; prio?: number; rate?: number; body: Value } = {
    tag: tag as LinkTag,
    node,
    lane,
    body,
  };
  for (const f of ['prio', 'rate'] as const) {
    if (!(f in json)) continue;
    const v = json[f];
    if (typeof v !== 'number') throw new WarpProtocolError(`${tag} envelope "${f}" must be a number`);
    env[f] = v;
  }
  return env;
}

/**
 * The JSON form of an envelope body (map actions get their dedicated shapes).
 *
 * @example
 * ```ts
 * bodyToJson(parseRecon('@remove(key:k)')); // { remove: { key: 'k' } }
 * ```
 */
export function bodyToJson(body: Value): unknown {
  if (isMapBody(body)) {
    const action = tryMapBody(body);
    if (action !== undefined) return mapActionToJson(action);
  }
  const json = jsonSafe(toJs(body));
  return isPlainObject(json) && isReservedShape(json) ? { $value: json } : json;
}

/**
 * Decodes a JSON body (the inverse of {@link bodyToJson}).
 *
 * @throws {WarpProtocolError} for malformed map-action shapes or over-deep input.
 * @example
 * ```ts
 * bodyFromJson({ clear: true }); // @clear
 * ```
 */
export function bodyFromJson(json: unknown): Value {
  try {
    if (isPlainObject(json) && isReservedShape(json)) {
      const [name, arg] = Object.entries(json)[0] as [string, unknown];
      if (name === '$value') return fromJs(arg);
      return writeMapBody(mapActionFromJson(name, arg));
    }
    return fromJs(json);
  } catch (e) {
    if (e instanceof WarpProtocolError) throw e;
    throw new WarpProtocolError(`invalid JSON body: ${(e as Error).message}`, { cause: e });
  }
}

function tryMapBody(body: Value): MapAction | undefined {
  try {
    return parseMapBody(body);
  } catch {
    return undefined; // malformed map bodies travel as generic values instead
  }
}

function mapActionToJson(a: MapAction): unknown {
  switch (a.kind) {
    case 'update': {
      const arg: { [k: string]: unknown } = { key: jsonSafe(toJs(a.key)) };
      if (a.value !== ABSENT) arg['value'] = jsonSafe(toJs(a.value));
      return { update: arg };
    }
    case 'remove':
      return { remove: { key: jsonSafe(toJs(a.key)) } };
    case 'clear':
      return { clear: true };
    default:
      return { [a.kind]: a.count };
  }
}

function mapActionFromJson(name: string, arg: unknown): MapAction {
  if (name === 'clear') {
    if (arg !== true) throw new WarpProtocolError('"clear" map body must be true');
    return { kind: 'clear' };
  }
  if (name === 'take' || name === 'drop') {
    if (typeof arg !== 'number' || !Number.isSafeInteger(arg) || arg < 0) {
      throw new WarpProtocolError(`"${name}" map body must be a non-negative integer`);
    }
    return { kind: name, count: arg };
  }
  const allowed = name === 'update' ? ['key', 'value'] : ['key'];
  if (!isPlainObject(arg)) throw new WarpProtocolError(`"${name}" map body must be an object`);
  for (const k of Object.keys(arg)) {
    if (!allowed.includes(k)) throw new WarpProtocolError(`"${name}" map body has unknown field "${k}"`);
  }
  if (!('key' in arg)) throw new WarpProtocolError(`"${name}" map body is missing "key"`);
  const key = fromJs(arg['key']);
  if (name === 'remove') return { kind: 'remove', key };
  return { kind: 'update', key, value: 'value' in arg ? fromJs(arg['value']) : ABSENT };
}

function isReservedShape(obj: { [k: string]: unknown }): boolean {
  const keys = Object.keys(obj);
  return keys.length === 1 && RESERVED.has(keys[0] as string);
}

function isPlainObject(x: unknown): x is { [k: string]: unknown } {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Replaces what JSON cannot carry: data -> base64 text, NaN/±Infinity -> text. */
function jsonSafe(x: unknown): unknown {
  if (typeof x === 'number') return Number.isFinite(x) ? x : String(x);
  if (x instanceof Uint8Array) return encodeBase64(x);
  if (Array.isArray(x)) return x.map(jsonSafe);
  if (typeof x === 'object' && x !== null) {
    for (const [k, v] of Object.entries(x)) {
      const safe = jsonSafe(v);
      if (safe !== v)
        Object.defineProperty(x, k, { value: safe, enumerable: true, writable: true, configurable: true });
    }
  }
  return x;
}
