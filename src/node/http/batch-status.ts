import { ErrorCodes, isRetryable, type ErrorCode } from '../../errors.js';

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
