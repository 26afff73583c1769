/**
 * `POST /events` batches refused for a transient reason. In cluster mode during a NATS outage
 * every event of a batch is refused with TWIN_CLUSTER_UNAVAILABLE (503 for a single event);
 * the batch answered 400, which a client that treats 4xx as final drops. A single node
 * reaches the same kind of refusal when its store fails to load a twin (TWIN_STORE_FAILED,
 * 503): a store that fails for some paths stands in for the outage here, deterministically.
 * Real sockets on 127.0.0.1 port 0; the rule for every code is test/unit/batch-status.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStateStore, TwinError, type StoredTwin } from '../../src/index.js';
import { warpNode } from '../support/warp.js';

const ROOM = '/org/a/site/s1/building/b1/floor/1/unit/u1/room';
const climate = (room: number): string => `${ROOM}/${room}/sensors/climate`;
/** Twins whose store is unreachable (a TwinError, as a remote store reports it). */
const DOWN = [climate(1), climate(2)];
/** A twin whose load throws a JS exception: TWIN_STORE_FAILED, listed as TWIN_INTERNAL. */
const BROKEN = climate(3);
const GOOD = climate(4);

class FailingStore extends MemoryStateStore {
  override load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined> {
    if (DOWN.includes(path)) throw new TwinError('TWIN_STORE_FAILED', 'the state store is unreachable');
    if (path === BROKEN) throw new Error('ECONNRESET');
    return super.load(path);
  }
}

interface Listed {
  index: number;
  code: string;
  message: string;
  retryable: boolean;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const reading = (subject: string) => ({ subject, data: { temperature: 21, humidity: 40 } });

describe('POST /events refused for a transient reason', () => {
  it('a batch none of whose events was accepted, all for a transient reason, is 503 (as one event is), not 400', async () => {
    const n = await warpNode({ store: new FailingStore() });
    // One event: its code's status, 503.
    expect(await post(n.url, reading(DOWN[0]!))).toMatchObject({
      status: 503,
      body: { code: 'TWIN_STORE_FAILED' },
    });
    // The same event as a batch of one, and a batch of two: 503 too, the batch summary as the body.
    for (const batch of [[reading(DOWN[0]!)], DOWN.map(reading)]) {
      const a = await post(n.url, batch);
      expect(a.status).toBe(503);
      expect(a.body).toEqual({
        accepted: 0,
        rejected: batch.map((_, index) => ({
          index,
          code: 'TWIN_STORE_FAILED',
          message: 'the state store is unreachable',
          retryable: true,
        })),
        rejectedTotal: batch.length,
        rejectedByCode: { TWIN_STORE_FAILED: batch.length },
        truncated: false,
      });
    }
    // A failure whose message is internal is listed as TWIN_INTERNAL, still retryable, still 503.
    const internal = await post(n.url, [reading(BROKEN), reading(DOWN[1]!)]);
    expect(internal.status).toBe(503);
    expect(internal.body.rejectedByCode).toEqual({ TWIN_STORE_FAILED: 2 });
    expect(internal.body.rejected.map((r: Listed) => [r.code, r.retryable])).toEqual([
      ['TWIN_INTERNAL', true],
      ['TWIN_STORE_FAILED', true],
    ]);
  });

  it('transient and final refusals mixed: 400 (none accepted) or 207, each listed event saying whether it is retryable', async () => {
    const n = await warpNode({ store: new FailingStore() });
    const none = await post(n.url, [reading(DOWN[0]!), reading('/nowhere')]);
    expect(none.status).toBe(400);
    expect(none.body.rejected.map((r: Listed) => [r.index, r.code, r.retryable])).toEqual([
      [0, 'TWIN_STORE_FAILED', true],
      [1, 'TWIN_NO_ROUTE', false],
    ]);
    expect(none.body.rejectedByCode).toEqual({ TWIN_STORE_FAILED: 1, TWIN_NO_ROUTE: 1 });

    const some = await post(n.url, [reading(GOOD), reading(DOWN[1]!)]);
    expect(some.status).toBe(207);
    expect(some.body).toMatchObject({ accepted: 1, rejectedTotal: 1 });
    expect(some.body.rejected).toEqual([
      { index: 1, code: 'TWIN_STORE_FAILED', message: 'the state store is unreachable', retryable: true },
    ]);
    // The accepted one was applied.
    expect(await n.runtime.get(GOOD, 'latest')).toMatchObject({ temperature: 21 });

    // Final refusals only: 400, none retryable, as before.
    const bad = await post(n.url, [reading('/nowhere'), { subject: GOOD, data: { temperature: 'hot' } }]);
    expect(bad.status).toBe(400);
    expect(bad.body.rejected.map((r: Listed) => r.retryable)).toEqual([false, false]);
  });
});
