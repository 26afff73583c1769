import { describe, expect, it } from 'vitest';
import { UNIT, rawClient, warpNode } from '../support/warp.js';

const BUDGET = 64 * 1024;
const FRAME = 16 * 1024;

/** A ~8 KB value that names its sequence number. */
function big(i: number): string[] {
  return [`seq-${i}`, 'x'.repeat(8000)];
}

describe('WARP backpressure', () => {
  it('conflates for a deliberately slow consumer and keeps its pending output bounded', async () => {
    const node = await warpNode({ warp: { limits: { sendBudgetBytes: BUDGET, frameBytes: FRAME } } });
    const slow = await rawClient(node.ws, 'warp.recon');
    const fast = await rawClient(node.ws, 'warp.recon');
    for (const c of [slow, fast]) {
      c.send(`@sync(node:"${UNIT}",lane:alarmSources)`);
      await c.until((m) => m.some((x) => x.startsWith('@synced')));
    }
    // The slow client stops reading: the kernel buffers fill, then the server's budget.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    // One update per shard step (each awaited), ~48 MB if nothing were conflated: far
    // beyond what the kernel's socket buffers absorb.
    const updates = 6000;
    let maxBuffered = 0;
    let maxPending = 0;
    for (let i = 0; i < updates; i++) {
      await node.runtime.command(UNIT, 'alarmSources', big(i));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // let the writers run
      for (const s of node.warp.sessions()) {
        maxBuffered = Math.max(maxBuffered, s.pending.bufferedBytes);
        maxPending = Math.max(maxPending, s.pending.events);
      }
    }
    const last = `seq-${updates - 1}`;
    // The fast reader is not held back by the slow one.
    await fast.until((m) => m.some((x) => x.includes(last)), 20_000);

    const stats = node.warp.stats();
    expect(stats.budgetStalls).toBeGreaterThan(0);
    expect(stats.conflations).toBeGreaterThan(0);
    // Bounded: the budget plus at most one frame in the socket buffer, one pending event per link.
    expect(maxBuffered).toBeLessThanOrEqual(BUDGET + FRAME + 8192);
    expect(maxPending).toBeLessThanOrEqual(1);
    const slowBefore = slow.messages.length;
    expect(slowBefore).toBeLessThan(updates / 2);

    // Once it reads again, it converges on the latest value.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.until((m) => m.some((x) => x.includes(last)), 20_000);
    expect(slow.messages.length).toBeLessThan(updates);
  });

  it('encodes a lane change once and shares the bytes among subscribers of the same encoding', async () => {
    const node = await warpNode();
    const clients = await Promise.all(Array.from({ length: 20 }, () => rawClient(node.ws)));
    for (const c of clients) c.send(`@link(node:"${UNIT}",lane:secured)`);
    for (const c of clients) await c.until((m) => m.length === 1);
    const before = node.warp.stats();
    await node.runtime.command(UNIT, 'secure', true);
    for (const c of clients) await c.until((m) => m.length === 2);
    const after = node.warp.stats();
    expect(after.eventsEncoded - before.eventsEncoded).toBe(1);
    expect(after.eventsShared - before.eventsShared).toBe(19);
  });
});
