import { attr, record, slot, type Value } from '../../protocol/recon/index.js';
import { publicError, toTwinError, type ErrorCode } from '../../errors.js';
import type { Rejections } from '../rejections.js';

/**
 * Why a link ended, as the tag of the `@unlinked` body. Swim clients know
 * `nodeNotFound` and `laneNotFound`; the others are twinflow's, named the same way.
 *
 * @example
 * ```ts
 * const r: UnlinkReason = 'forbidden';
 * ```
 */
export type UnlinkReason =
  | 'nodeNotFound'
  | 'laneNotFound'
  | 'forbidden'
  | 'tooManyLinks'
  | 'tooManyTwins'
  | 'rateLimited'
  | 'malformed'
  | 'failed';

const BY_CODE: Partial<Record<ErrorCode, UnlinkReason>> = {
  TWIN_NO_ROUTE: 'nodeNotFound',
  TWIN_PATH_INVALID: 'nodeNotFound',
  TWIN_FILTER_INVALID: 'nodeNotFound',
  TWIN_LANE_NOT_FOUND: 'laneNotFound',
  TWIN_FORBIDDEN: 'forbidden',
  TWIN_LANE_KIND: 'forbidden', // e.g. a client's command to a value lane that is not writable
  TWIN_LINK_LIMIT: 'tooManyLinks',
  TWIN_TOO_MANY_TWINS: 'tooManyTwins', // a wildcard link matching more than --max-link-twins
  TWIN_RATE_LIMITED: 'rateLimited', // a command over the sender's ingest rate
  TWIN_FRAME_MALFORMED: 'malformed',
  TWIN_PAYLOAD_TOO_DEEP: 'malformed', // a command value nested past --max-payload-depth
};

/** Refusals counted where they are refused (their own kinds: `warp.forbidden`, `warp.rate_limited`, `warp.too_many_links`). */
const COUNTED_ELSEWHERE = new Set<ErrorCode>(['TWIN_FORBIDDEN', 'TWIN_RATE_LIMITED', 'TWIN_LINK_LIMIT']);

/**
 * The `@unlinked` body for an error: `@laneNotFound(code:TWIN_LANE_NOT_FOUND,message:"…")`.
 *
 * @example
 * ```ts
 * writeRecon(unlinkBody(new TwinError('TWIN_NO_ROUTE', 'no model')));
 * // '@nodeNotFound(code:TWIN_NO_ROUTE,message:"no model")'
 * ```
 */
export function unlinkBody(error: unknown, rejections?: Rejections): Value {
  // As over HTTP: a JS exception's text is logged under a correlation id, never sent, and
  // counted and rate-limited like a refusal (a client may cause it on every link).
  const { error: e, correlationId } = publicError(error);
  if (correlationId !== undefined)
    rejections?.note(`warp.${e.code}`, { err: error, correlationId }, 'WARP link failed (internal error)', 'error');
  const reason = BY_CODE[e.code] ?? 'failed';
  const fields = [
    slot('code', e.code),
    slot('message', e.message),
    ...(correlationId !== undefined ? [slot('correlationId', correlationId)] : []),
  ];
  return record(attr(reason, record(...fields)));
}

/**
 * True for errors that mean "this node/lane cannot be used" (and so are worth an
 * `@unlinked` answer to a command), as opposed to a payload the model rejected.
 *
 * @example
 * ```ts
 * isAddressError(new TwinError('TWIN_NO_ROUTE')); // true
 * ```
 */
export function isAddressError(error: unknown): boolean {
  const reason = BY_CODE[toTwinError(error).code];
  return reason !== undefined && reason !== 'malformed';
}

/**
 * True for the command refusals a client is told about with `@unlinked` (when no link to
 * that lane is open): the address errors, and a value past an input bound (which, like a
 * malformed frame, would fail again if resent). A payload the model rejected is only logged.
 *
 * @example
 * ```ts
 * answersCommand(new TwinError('TWIN_PAYLOAD_TOO_DEEP', 'too deep')); // true
 * ```
 */
export function answersCommand(error: unknown): boolean {
  return isAddressError(error) || toTwinError(error).code === 'TWIN_PAYLOAD_TOO_DEEP';
}

/**
 * The kind (`twinflow_rejected_total{kind}`) under which a client's refused link or command
 * is counted, `warp.<CODE>` as HTTP counts `http.<CODE>`; undefined for the node's own
 * failures (5xx) and for refusals counted where they happen.
 *
 * @example
 * ```ts
 * refusalKind(new TwinError('TWIN_LANE_NOT_FOUND', 'no lane')); // 'warp.TWIN_LANE_NOT_FOUND'
 * ```
 */
export function refusalKind(error: unknown): string | undefined {
  const e = toTwinError(error);
  if (e.status >= 500 || COUNTED_ELSEWHERE.has(e.code)) return undefined;
  return `warp.${e.code}`;
}
