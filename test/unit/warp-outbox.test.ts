import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/index.js';
import type { LaneEvent } from '../../src/lanes/events.js';
import { EventEncoder } from '../../src/node/warp/event-encoder.js';
import { ReadyLinks } from '../../src/node/warp/ready-links.js';
import { Uplink, type UplinkOptions } from '../../src/node/warp/uplink.js';

const v = (value: unknown): LaneEvent => ({ type: 'value', value });

function uplink(options: Partial<UplinkOptions> & { clock: SimulatedClock }): {
  link: Uplink;
  woken: () => number;
  take: () => string[];
} {
  let wakes = 0;
  const link = new Uplink({
    node: '/a',
    lane: 'b',
    sync: true,
    wildcard: false,
    encoder: new EventEncoder('recon'),
    host: { wake: () => void wakes++ },
    linked: Buffer.from('@linked'),
    synced: Buffer.from('@synced'),
    kindOf: () => 'value',
    streamLimit: 8,
    ...options,
  });
  return {
    link,
    woken: () => wakes,
    take: () => {
      const out: Buffer[] = [];
      link.take(out, 1 << 20);
      return out.map((b) => b.toString().replace('@event(node:"/a",lane:b)', ''));
    },
  };
}

describe('WARP link rate', () => {
  it('sends the state at once, then at most one batch per interval of the injected clock, conflated to the latest', () => {
    const clock = new SimulatedClock(1_000);
    const { link, woken, take } = uplink({ clock, rate: 100 });
    link.onEvent(v(0), '/a');
    link.onSynced();
    expect(take()).toEqual(['@linked', '0', '@synced']);

    const before = woken();
    link.onEvent(v(1), '/a');
    link.onEvent(v(2), '/a');
    expect(woken()).toBe(before); // held back: the state left at t=1000
    expect(link.idle).toBe(true);
    expect(take()).toEqual([]);

    clock.advance(99);
    expect(woken()).toBe(before);
    clock.advance(1);
    expect(woken()).toBe(before + 1);
    expect(take()).toEqual(['2']);
    expect(link.conflated).toBe(1);

    // A change after a quiet interval goes out at once.
    clock.advance(500);
    link.onEvent(v(3), '/a');
    expect(woken()).toBe(before + 2);
    expect(take()).toEqual(['3']);
  });

  it('delivers every command of an interval, in order, when the interval elapses', () => {
    const clock = new SimulatedClock(0);
    const { link, take } = uplink({ clock, rate: 50, kindOf: () => 'command' });
    link.onSynced();
    expect(take()).toEqual(['@linked', '@synced']); // a command lane has no state
    link.onEvent(v('first'), '/a'); // nothing was sent yet: goes at once
    expect(take()).toEqual(['first']); // (Recon: an identifier-like text is bare)
    for (const x of [true, false, true]) link.onEvent(v(x), '/a');
    expect(take()).toEqual([]);
    clock.advance(50);
    expect(take()).toEqual(['true', 'false', 'true']);
    expect(link.conflated + link.dropped).toBe(0);
  });

  it('stops its timer when closed', () => {
    const clock = new SimulatedClock(0);
    const { link, woken, take } = uplink({ clock, rate: 50 });
    link.onSynced();
    take();
    link.onEvent(v(1), '/a');
    link.close(null);
    const wakes = woken();
    clock.advance(100);
    expect(woken()).toBe(wakes);
    expect(clock.pending).toBe(0);
  });
});

describe('WARP wildcard uplink', () => {
  it('keeps an outbox per twin by lane kind, resumes a take cut short by the byte limit, and keeps its counters past draining and closing', () => {
    const clock = new SimulatedClock(0);
    const { link, take } = uplink({
      clock,
      node: '/t/*',
      wildcard: true,
      streamLimit: 2,
      kindOf: (path) => (path === '/t/cmd' ? 'command' : 'value'),
    });
    link.onSynced();
    expect(take()).toEqual(['@linked', '@synced']);
    for (const x of [1, 2, 3]) link.onEvent(v(x), '/t/cmd'); // queue of 2: 1 is dropped
    link.onEvent(v('a'), '/t/x');
    link.onEvent(v('b'), '/t/x'); // conflated
    expect([link.pendingEvents, link.dropped, link.conflated, link.overflowing]).toEqual([3, 1, 1, true]);

    const out: Buffer[] = [];
    link.take(out, 1); // room for one envelope
    expect(out.map(String)).toEqual(['@event(node:"/t/cmd",lane:b)2']);
    expect([link.idle, link.overflowing]).toEqual([false, true]);
    out.length = 0;
    link.take(out, 1 << 20);
    expect(out.map(String)).toEqual(['@event(node:"/t/cmd",lane:b)3', '@event(node:"/t/x",lane:b)b']);
    expect([link.idle, link.pendingEvents, link.dropped, link.conflated, link.overflowing]).toEqual([
      true,
      0,
      1,
      1,
      false,
    ]);

    link.onEvent(v('c'), '/t/x');
    link.onEvent(v('d'), '/t/x');
    link.close(null);
    expect([link.pendingEvents, link.dropped, link.conflated]).toEqual([0, 1, 2]);
  });
});

describe('WARP link prio', () => {
  it('takes higher-prio links first, round robin within a prio', () => {
    const clock = new SimulatedClock(0);
    const make = (node: string, prio: number) => {
      const l = uplink({ clock, node, prio, sync: false }).link;
      l.onSynced();
      return l;
    };
    const low1 = make('/low1', 0);
    const low2 = make('/low2', 0);
    const high = make('/high', 5);
    const ready = new ReadyLinks();
    for (const l of [low1, low2, high]) ready.add(l);
    const out: Buffer[] = [];
    ready.take(out, 1 << 20);
    expect(out.map(String)).toEqual(['@linked', '@linked', '@linked']);
    expect(ready.size).toBe(0);

    for (const l of [low1, high, low2]) l.onEvent(v(l.node), l.node);
    for (const l of [low1, high, low2]) ready.add(l);
    out.length = 0;
    ready.take(out, 1); // room for one envelope only: the budget is constrained
    expect(String(out[0])).toContain('/high');
    ready.take(out, 1 << 20);
    expect(out.map((b) => /node:"([^"]+)"/.exec(String(b))![1])).toEqual(['/high', '/low1', '/low2']);
  });
});
