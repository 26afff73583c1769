/**
 * Issue 15: the ingest rate per sender (token buckets) on a simulated clock, the rate key
 * every front uses, the flags, and the MQTT 3.1.1 throttle's order.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Principal } from '../../src/access/principal.js';
import { SimulatedClock } from '../../src/actors/clock.js';
import { limitsFromFlags, resolveIngestRate } from '../../src/node/config/limits-config.js';
import { IngestQuota, rateKeyOf } from '../../src/node/ingest/ingest-quota.js';
import { PublishThrottle } from '../../src/node/ingest/publish-throttle.js';

function quota(rate?: { eventsPerSecond: number; burst: number }, maxKeys?: number) {
  const clock = new SimulatedClock(1_000_000);
  return { clock, q: new IngestQuota({ rate, maxKeys, now: () => clock.now() }) };
}

describe('IngestQuota (token bucket per key)', () => {
  it('admits the burst at once, then refuses with the time until a whole token is back', () => {
    const { clock, q } = quota({ eventsPerSecond: 10, burst: 3 });
    expect([q.take('k', 1), q.take('k', 1), q.take('k', 1)]).toEqual([0, 0, 0]);
    expect(q.take('k', 1)).toBe(100);
    clock.advance(1);
    expect(q.take('k', 1)).toBe(99); // a fraction of a token is not one: still refused
    clock.advance(99);
    expect(q.take('k', 1)).toBe(0);
    expect(q.take('k', 1)).toBe(100);
    // Another key has its own bucket.
    expect(q.take('other', 3)).toBe(0);
  });

  it('holds the configured rate over time: 10/s for 10 s admits 10 s × 10 + the burst', () => {
    const { clock, q } = quota({ eventsPerSecond: 10, burst: 5 });
    let admitted = 0;
    for (let t = 0; t < 10_000; t += 7) {
      if (q.take('k', 1) === 0) admitted++;
      clock.advance(7);
    }
    expect(admitted).toBeGreaterThanOrEqual(103);
    expect(admitted).toBeLessThanOrEqual(105);
  });

  it('takes a batch larger than the burst while the balance is positive, then makes the sender wait off the debt', () => {
    const { clock, q } = quota({ eventsPerSecond: 100, burst: 50 });
    expect(q.take('k', 500)).toBe(0); // balance 50 - 500 = -450
    expect(q.take('k', 1)).toBe(4510); // 451 tokens at 100/s
    clock.advance(4500);
    expect(q.take('k', 1)).toBe(10);
    clock.advance(10);
    expect(q.take('k', 500)).toBe(0);
  });

  it('is off without a rate; a principal’s own rate applies even then, and overrides the default', () => {
    const { q } = quota();
    for (let i = 0; i < 1000; i++) expect(q.take('k', 100)).toBe(0);
    expect(q.size).toBe(0); // nothing kept for unlimited senders
    const own = { eventsPerSecond: 1, burst: 2 };
    expect([q.take('p', 1, own), q.take('p', 1, own)]).toEqual([0, 0]);
    expect(q.take('p', 1, own)).toBeGreaterThan(0);

    const { q: withDefault } = quota({ eventsPerSecond: 1, burst: 1 });
    expect(withDefault.take('x', 1)).toBe(0);
    expect(withDefault.take('x', 1)).toBeGreaterThan(0);
    const generous = { eventsPerSecond: 1000, burst: 1000 };
    for (let i = 0; i < 1000; i++) expect(withDefault.take('y', 1, generous)).toBe(0);
  });

  it('applies a changed rate (a reloaded access file) at the next take; what was used stays used', () => {
    const { clock, q } = quota();
    const slow = { eventsPerSecond: 1, burst: 2 };
    q.take('p', 2, slow);
    expect(q.take('p', 1, slow)).toBe(1000);
    // Raised: the burst grows by 98, the 2 used stay used.
    const fast = { eventsPerSecond: 100, burst: 100 };
    for (let i = 0; i < 98; i++) expect(q.take('p', 1, fast)).toBe(0);
    expect(q.take('p', 1, fast)).toBe(10);
    clock.advance(1000);
    // Lowered: the balance is cut to the new burst.
    const tight = { eventsPerSecond: 1, burst: 1 };
    expect(q.take('p', 1, tight)).toBe(0);
    expect(q.take('p', 1, tight)).toBe(1000); // balance 0, not the 99 the old burst would have left
  });

  it('keeps at most maxKeys buckets: a flood of new senders shares one until idle full buckets are dropped', () => {
    const { clock, q } = quota({ eventsPerSecond: 10, burst: 2 }, 100);
    for (let i = 0; i < 10_000; i++) q.take(`c:device-${i}`, 1);
    expect(q.size).toBeLessThanOrEqual(101);
    // Past the cap the newcomers share the overflow bucket, so they are limited together.
    expect(q.take('c:late-1', 1)).toBeGreaterThan(0);
    // Once their buckets refill (200 ms at 10/s for 1 token of 2), a sweep at the cap drops them.
    clock.advance(1000);
    expect(q.take('c:late-2', 1)).toBe(0);
    expect(q.size).toBe(1);
    // Over a minute, new keys sweep out the full ones even below the cap.
    for (let i = 0; i < 50; i++) q.take(`c:more-${i}`, 1);
    clock.advance(61_000);
    q.take('c:after', 1);
    expect(q.size).toBe(1);
  });

  it('counts refusals by front', () => {
    const { q } = quota();
    q.limited('http', 10);
    q.limited('mqtt');
    expect(Object.fromEntries(q.counts())).toEqual({ http: 10, mqtt: 1, warp: 0 });
  });
});

describe('rateKeyOf', () => {
  const named = new Principal('gateway-41', 'password', [], undefined, { eventsPerSecond: 5, burst: 5 });
  it('names the principal when one proved who it is, else the MQTT client id, else the address', () => {
    expect(rateKeyOf({ principal: named, clientId: 'd1', remoteAddress: '10.0.0.1' })).toBe('p:gateway-41');
    expect(rateKeyOf({ principal: Principal.open(), clientId: 'd1' })).toBe('c:d1');
    const anonymous = new Principal('anonymous', 'anonymous', []);
    expect(rateKeyOf({ principal: anonymous, remoteAddress: '10.0.0.1' })).toBe('a:10.0.0.1');
    expect(rateKeyOf({ principal: null, remoteAddress: '::1' })).toBe('a:::1');
  });
});

describe('--ingest-rate / --ingest-burst', () => {
  it('are off by default, read flags then TWINFLOW_* variables, and refuse nonsense', () => {
    expect(limitsFromFlags({}, {}).ingestRate).toBeUndefined();
    expect(limitsFromFlags({ 'ingest-rate': '0' }, {}).ingestRate).toBeUndefined();
    expect(limitsFromFlags({ 'ingest-rate': '50' }, {}).ingestRate).toEqual({ eventsPerSecond: 50, burst: 50 });
    expect(limitsFromFlags({}, { TWINFLOW_INGEST_RATE: '0.5', TWINFLOW_INGEST_BURST: '10' }).ingestRate).toEqual({
      eventsPerSecond: 0.5,
      burst: 10,
    });
    expect(() => limitsFromFlags({ 'ingest-rate': '-1' }, {})).toThrow(/--ingest-rate must be a number >= 0/);
    expect(() => limitsFromFlags({ 'ingest-burst': '5' }, {})).toThrow(/--ingest-burst needs --ingest-rate/);
    expect(() => resolveIngestRate({ eventsPerSecond: 5, burst: 0.5 })).toThrow(/burst must be a number >= 1/);
    expect(() => resolveIngestRate({ eventsPerSecond: 5, maxKeys: 0 })).toThrow(/maxKeys/);
    expect(resolveIngestRate({ eventsPerSecond: 0.2 })).toEqual({
      rate: { eventsPerSecond: 0.2, burst: 1 },
      maxKeys: 100_000,
    });
  });
});

describe('PublishThrottle (MQTT 3.1.1 over its rate)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs packets in arrival order as tokens come, and never runs them after close', () => {
    vi.useFakeTimers();
    const clock = { t: 0 };
    const q = new IngestQuota({ rate: { eventsPerSecond: 10, burst: 2 }, now: () => clock.t });
    let held = 0;
    const t = new PublishThrottle(
      () => q.take('c:d', 1),
      () => held++,
    );
    const ran: number[] = [];
    for (let i = 0; i < 6; i++) t.admit(() => ran.push(i));
    expect(ran).toEqual([0, 1]);
    expect(held).toBe(4);
    for (let ms = 0; ms < 1000 && ran.length < 6; ms++) {
      clock.t = ms;
      vi.advanceTimersByTime(1);
    }
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
    // About 10/s after the burst: the 4 held ones took ~300-400 ms.
    expect(clock.t).toBeGreaterThanOrEqual(290);
    expect(clock.t).toBeLessThanOrEqual(420);
    t.admit(() => ran.push(6));
    t.close();
    vi.advanceTimersByTime(10_000);
    expect(ran).toHaveLength(6);
  });
});
