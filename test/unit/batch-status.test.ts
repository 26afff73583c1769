/**
 * The status of a `POST /events` batch answer (src/node/http/batch-status.ts): a batch none
 * of whose events was accepted, all for transient reasons, answers the retryable status a
 * single event gets (503, or 429 for rate refusals) instead of 400, which a client that
 * treats 4xx as final drops. Cluster codes (TWIN_CLUSTER_UNAVAILABLE, TWIN_FENCED) need a
 * NATS outage to happen on a node: the rule is checked here for every code;
 * test/integration/http-batch-retryable.test.ts checks it on a node with a failing store.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isRetryable, TwinError, type ErrorCode } from '../../src/errors.js';
import { batchStatus } from '../../src/node/http/batch-status.js';
import { reasonFor } from '../../src/node/ingest/mqtt-ingest.js';

const all = Object.keys(ErrorCodes) as ErrorCode[];

describe('batchStatus', () => {
  it('202 with nothing refused, 207 with some accepted, whatever the refusals', () => {
    expect(batchStatus(0, [])).toBe(202);
    expect(batchStatus(3, [])).toBe(202);
    expect(batchStatus(1, ['TWIN_NO_ROUTE'])).toBe(207);
    expect(batchStatus(1, ['TWIN_CLUSTER_UNAVAILABLE'])).toBe(207);
  });

  it('none accepted, every refusal transient: 503 (a NATS outage in cluster mode is not a client error)', () => {
    expect(batchStatus(0, ['TWIN_CLUSTER_UNAVAILABLE'])).toBe(503);
    expect(batchStatus(0, ['TWIN_CLUSTER_UNAVAILABLE', 'TWIN_CLUSTER_UNAVAILABLE', 'TWIN_FENCED'])).toBe(503);
    expect(batchStatus(0, ['TWIN_STORE_FAILED', 'TWIN_QUEUE_FULL', 'TWIN_RUNTIME_CLOSED'])).toBe(503);
    // A rate refusal among other transient ones: still 503 (the others have no Retry-After to honour).
    expect(batchStatus(0, ['TWIN_RATE_LIMITED', 'TWIN_CLUSTER_UNAVAILABLE'])).toBe(503);
  });

  it('none accepted, all rate refusals: 429', () => {
    expect(batchStatus(0, ['TWIN_RATE_LIMITED', 'TWIN_RATE_LIMITED'])).toBe(429);
  });

  it('none accepted, any refusal final: 400 as before', () => {
    expect(batchStatus(0, ['TWIN_NO_ROUTE'])).toBe(400);
    expect(batchStatus(0, ['TWIN_CLUSTER_UNAVAILABLE', 'TWIN_PAYLOAD_REJECTED'])).toBe(400);
    expect(batchStatus(0, ['TWIN_FORBIDDEN', 'TWIN_RATE_LIMITED'])).toBe(400);
    // A handler that threw or an internal error is not retried: a resend fails the same way.
    expect(batchStatus(0, ['TWIN_TURN_FAILED'])).toBe(400);
    expect(batchStatus(0, ['TWIN_INTERNAL', 'TWIN_STORE_FAILED'])).toBe(400);
  });

  it('a single refusal of any code: the retryable status exactly for the codes a single event gets 503 or 429 for', () => {
    for (const code of all) {
      const single = ErrorCodes[code].status;
      expect(isRetryable(code), code).toBe(single === 503 || single === 429);
      expect(batchStatus(0, [code]), code).toBe(single === 503 || single === 429 ? single : 400);
    }
  });
});

describe('MQTT answers by the same rule', () => {
  it('a refusal HTTP calls retryable is retried over MQTT (no PUBACK on 3.1.1), every other one is not', () => {
    // The bug bash of 2026-12-07: TWIN_CLUSTER_UNAVAILABLE fell to the default, so a NATS outage
    // had MQTT 3.1.1 acknowledge and drop each reading.
    for (const code of all) expect(reasonFor(new TwinError(code)).retry, code).toBe(isRetryable(code));
    expect(reasonFor(new TwinError('TWIN_CLUSTER_UNAVAILABLE'))).toEqual({ code: 0x80, retry: true });
    expect(reasonFor(new TwinError('TWIN_RATE_LIMITED'))).toEqual({ code: 0x97, retry: true });
  });
});
