import { ErrorCodes, type ErrorCode } from '../../errors.js';

/**
 * True for a refusal the sender should resend unchanged later: the node could not take the
 * event now (overloaded, shutting down, its store or the cluster unavailable, the twin's owner
 * moving, over a rate), nothing is wrong with the event itself. These are the codes whose
 * status is 503 or 429 (see {@link ErrorCodes}), the statuses a single event is answered with.
 *
 * @example
 * ```ts
 * isRetryable('TWIN_CLUSTER_UNAVAILABLE'); // true
 * isRetryable('TWIN_NO_ROUTE'); // false
 * ```
 */
export function isRetryable(code: ErrorCode): boolean {
  const status = ErrorCodes[code].status;
  return status === 503 || status === 429;
}

/**
 * The status of a `POST /events` batch answer: 202 when nothing was refused, 207 when some
 * events were accepted; with none accepted, 400 when any refusal is final (the sender must
 * change something), else the retryable status a single event gets: 429 when every refusal
 * is a rate refusal, 503 otherwise. A batch refused only for transient reasons (a NATS outage
 * in cluster mode, a store failure) must not look final to a client that drops 4xx answers.
 *
 * @example
 * ```ts
 * batchStatus(0, ['TWIN_CLUSTER_UNAVAILABLE', 'TWIN_CLUSTER_UNAVAILABLE']); // 503
 * batchStatus(0, ['TWIN_CLUSTER_UNAVAILABLE', 'TWIN_NO_ROUTE']); // 400
 * batchStatus(3, ['TWIN_NO_ROUTE']); // 207
 * ```
 */
export function batchStatus(accepted: number, refused: readonly ErrorCode[]): 202 | 207 | 400 | 429 | 503 {
  if (refused.length === 0) return 202;
  if (accepted > 0) return 207;
  if (!refused.every(isRetryable)) return 400;
  return refused.every((code) => ErrorCodes[code].status === 429) ? 429 : 503;
}
