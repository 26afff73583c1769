import { describe, expect, it } from 'vitest';
import { defineTwin, supply, value } from '../../src/index.js';
import { UNIT, rawClient, warpNode } from '../support/warp.js';

/** A twin with a supply lane (`pings`, pushed by `ping` events) and a value lane to fill sockets with. */
const beacon = defineTwin({
  name: 'beacon',
  route: '/beacons/:id',
  lanes: { pings: supply<string>(), blob: value<unknown>(null) },
  on: {
    ping(ctx, e) {
      const { n, tag } = e.data as { n: number; tag: string };
      for (let i = 0; i < n; i++) ctx.lanes.pings.push(`${tag}-${i}`);
    },
  },
});
const BEACON = '/beacons/1';

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return Number(line?.split(' ')[1]);
}

describe('WARP links to command and supply lanes (events, not state)', () => {
  it('delivers every command of a command lane in order, also when several land in one step', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws, 'warp.recon');
    c.send(`@sync(node:"${UNIT}",lane:secure)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages).toEqual([`@linked(node:"${UNIT}",lane:secure)`, `@synced(node:"${UNIT}",lane:secure)`]);

    // Not awaited one by one: the five commands run in the same shard step.
    const sent = [true, false, true, false, true];
    await Promise.all(sent.map((v) => node.runtime.command(UNIT, 'secure', v)));
    const commands = () => c.messages.filter((x) => x.startsWith(`@event(node:"${UNIT}",lane:secure)`));
    await c.until(() => commands().length === sent.length);
    expect(commands().map((x) => x.slice(x.indexOf(')') + 1))).toEqual(sent.map(String));
    expect(node.warp.stats()).toMatchObject({ conflations: 0, dropped: 0 });
  });

  it("queues a slow reader's supply events up to the limit, drops the oldest, and shows it in /metrics", async () => {
    const BUDGET = 64 * 1024;
    const node = await warpNode({
      models: [beacon],
      warp: { limits: { maxQueuedEvents: 8, sendBudgetBytes: BUDGET } },
    });
    const c = await rawClient(node.ws, 'warp.recon');
    c.send(`@sync(node:"${BEACON}",lane:pings)\n@sync(node:"${BEACON}",lane:blob)`);
    await c.until((m) => m.filter((x) => x.startsWith('@synced')).length === 2);
    const pings = () =>
      c.messages
        .filter((x) => x.startsWith(`@event(node:"${BEACON}",lane:pings)`))
        .map((x) => x.slice(x.indexOf(')') + 1));

    // A reader that keeps up gets every event of a turn.
    await node.runtime.ingest({ subject: BEACON, type: 'ping', data: { n: 5, tag: 'a' } });
    await c.until(() => pings().length === 5);
    expect(pings()).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);

    // Stop reading and fill the kernel's buffers and the send budget through the value lane.
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    for (let i = 0; node.warp.stats().budgetStalls === 0; i++) {
      if (i > 20_000) throw new Error('the send budget never filled');
      await node.runtime.command(BEACON, 'blob', [`fill-${i}`, 'x'.repeat(8000)]);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }

    await node.runtime.ingest({ subject: BEACON, type: 'ping', data: { n: 20, tag: 'b' } });
    const session = node.warp.sessions()[0]!;
    expect(session.pending.events).toBeLessThanOrEqual(8 + 1); // the queue, plus the blob's latest value
    expect(node.warp.stats()).toMatchObject({ dropped: 12, overflowingLinks: 1 });
    expect(await metric(node.url, 'twinflow_warp_dropped_total')).toBe(12);
    expect(await metric(node.url, 'twinflow_warp_overflowing_links')).toBe(1);

    // Once it reads again it gets the newest 8, in order, and the link is no longer overflowing.
    socket.resume();
    await c.until(() => pings().includes('b-19'), 20_000);
    expect(pings().filter((p) => p.startsWith('b-'))).toEqual(Array.from({ length: 8 }, (_, i) => `b-${12 + i}`));
    expect(await metric(node.url, 'twinflow_warp_overflowing_links')).toBe(0);
    expect(await metric(node.url, 'twinflow_warp_dropped_total')).toBe(12);

    // Dropped counts survive the link: an unlink keeps the total.
    c.send(`@unlink(node:"${BEACON}",lane:pings)`);
    await c.until((m) => m.some((x) => x.startsWith(`@unlinked(node:"${BEACON}",lane:pings)`)));
    expect(node.warp.stats().dropped).toBe(12);
  });

  it('keeps every command of a wildcard link per twin', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws, 'warp.recon');
    const filter = UNIT.replace(/unit\/j$/, 'unit/*');
    c.send(`@link(node:"${filter}",lane:secure)`);
    await c.until((m) => m.some((x) => x.startsWith('@linked')));
    const other = UNIT.replace(/unit\/j$/, 'unit/k');
    await Promise.all([
      node.runtime.command(UNIT, 'secure', true),
      node.runtime.command(other, 'secure', true),
      node.runtime.command(UNIT, 'secure', false),
    ]);
    await c.until((m) => m.filter((x) => x.startsWith('@event')).length === 3);
    expect(c.messages.filter((x) => x.startsWith(`@event(node:"${UNIT}"`))).toEqual([
      `@event(node:"${UNIT}",lane:secure)true`,
      `@event(node:"${UNIT}",lane:secure)false`,
    ]);
  });
});
