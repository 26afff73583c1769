import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/index.js';
import { UNIT, rawClient, warpNode, type RawClient } from '../support/warp.js';

const OTHER = UNIT.replace(/unit\/j$/, 'unit/k');
const events = (c: RawClient, lane: string) =>
  c.messages.filter((m) => m.startsWith(`@event(node:"${UNIT}",lane:${lane})`));

/**
 * Everything the server had to send on `c` up to now has arrived: a change on an unthrottled
 * link of the same socket went out in a flush after it, and one socket's frames arrive in order.
 */
async function barrier(
  node: { runtime: { command(p: string, l: string, v: unknown): Promise<unknown> } },
  c: RawClient,
  n: number,
): Promise<void> {
  await node.runtime.command(OTHER, 'alarmSources', [`barrier-${n}`]);
  await c.until((m) => m.some((x) => x.includes(`barrier-${n}`)));
}

describe('WARP link rate (minimum interval between deliveries)', () => {
  it("holds a value lane's changes for `rate` ms of the runtime clock and then sends only the latest", async () => {
    const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
    const node = await warpNode({ clock });
    const c = await rawClient(node.ws, 'warp.recon');
    c.send(`@link(node:"${OTHER}",lane:alarmSources)\n@sync(node:"${UNIT}",lane:secured,rate:1000)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages).toContain(`@linked(node:"${UNIT}",lane:secured,rate:1000)`);
    expect(events(c, 'secured')).toEqual([`@event(node:"${UNIT}",lane:secured)false`]);

    // The state left at t0: changes within the next 1000 ms wait.
    for (const v of [true, false, true]) await node.runtime.command(UNIT, 'secure', v);
    await barrier(node, c, 1);
    expect(events(c, 'secured')).toHaveLength(1);
    clock.advance(999);
    await barrier(node, c, 2);
    expect(events(c, 'secured')).toHaveLength(1);

    clock.advance(1);
    await c.until(() => events(c, 'secured').length === 2);
    expect(events(c, 'secured')[1]).toBe(`@event(node:"${UNIT}",lane:secured)true`);

    // The next change is due 1000 ms after that delivery.
    await node.runtime.command(UNIT, 'secure', false);
    clock.advance(500);
    await barrier(node, c, 3);
    expect(events(c, 'secured')).toHaveLength(2);
    clock.advance(500);
    await c.until(() => events(c, 'secured').length === 3);
    expect(events(c, 'secured')[2]).toBe(`@event(node:"${UNIT}",lane:secured)false`);
    expect(node.warp.stats().conflations).toBeGreaterThanOrEqual(2);
  });

  it('conflates a map lane per key within the interval and sends every changed key when it elapses', async () => {
    const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
    const node = await warpNode({ clock });
    const room = (n: number) => UNIT + `/room/${n}`;
    const occupancy = (n: number, occupied: boolean) => ({
      subject: `${room(n)}/sensors/occupancy`,
      data: { occupied },
    });
    await node.runtime.ingest(occupancy(1, false));
    const c = await rawClient(node.ws, 'warp.json');
    c.send(
      JSON.stringify([
        { tag: 'link', node: OTHER, lane: 'alarmSources' },
        { tag: 'sync', node: UNIT, lane: 'roomOccupied', rate: 250 },
      ]),
    );
    await c.until((m) => m.some((x) => x.includes('"synced"')));
    const updates = () =>
      c.messages
        .map((m) => JSON.parse(m))
        .filter((m) => m.tag === 'event' && m.node === UNIT)
        .map((m) => m.body.update);
    expect(updates()).toEqual([{ key: room(1), value: false }]);

    await node.runtime.ingest(occupancy(4, true));
    await node.runtime.ingest(occupancy(5, true));
    await node.runtime.ingest(occupancy(4, false));
    await node.runtime.ingest(occupancy(1, true));
    await barrier(node, c, 1);
    expect(updates()).toHaveLength(1);

    clock.advance(250);
    await c.until(() => updates().length === 4);
    // One event per changed key, its latest value, in the order the keys first changed.
    expect(updates().slice(1)).toEqual([
      { key: room(4), value: false },
      { key: room(5), value: true },
      { key: room(1), value: true },
    ]);
  });
});

/** A ~8 KB value naming `tag`. */
const big = (tag: string) => [tag, 'x'.repeat(8000)];

describe('WARP link prio (order under a constrained send budget)', () => {
  it("flushes the higher-prio link's pending update first when the socket drains", async () => {
    const BUDGET = 64 * 1024;
    const node = await warpNode({ warp: { limits: { sendBudgetBytes: BUDGET, frameBytes: 16 * 1024 } } });
    const c = await rawClient(node.ws, 'warp.recon');
    // The low-prio link is opened (and so becomes ready) first: round robin alone would favour it.
    c.send(`@sync(node:"${UNIT}",lane:alarmSources,prio:0)\n@sync(node:"${OTHER}",lane:alarmSources,prio:10)`);
    await c.until((m) => m.filter((x) => x.startsWith('@synced')).length === 2);
    expect(c.messages).toContain(`@linked(node:"${OTHER}",lane:alarmSources,prio:10)`);

    // Stop reading, then fill the kernel's buffers and the budget through the low-prio link.
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const session = node.warp.sessions()[0]!;
    for (let i = 0; node.warp.stats().budgetStalls === 0; i++) {
      if (i > 20_000) throw new Error('the send budget never filled');
      await node.runtime.command(UNIT, 'alarmSources', big(`fill-${i}`));
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(session.pending.bufferedBytes).toBeGreaterThanOrEqual(BUDGET);

    // Both links now have an update waiting behind the budget: low first, then high.
    await node.runtime.command(UNIT, 'alarmSources', big('LOW-LAST'));
    await node.runtime.command(OTHER, 'alarmSources', big('HIGH-LAST'));
    expect(session.pending.events).toBe(2);

    socket.resume();
    await c.until((m) => m.some((x) => x.includes('LOW-LAST')) && m.some((x) => x.includes('HIGH-LAST')), 20_000);
    const high = c.messages.findIndex((x) => x.includes('HIGH-LAST'));
    const low = c.messages.findIndex((x) => x.includes('LOW-LAST'));
    expect(high).toBeLessThan(low);
  });
});
