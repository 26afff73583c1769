import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildingModels } from '../../models/index.js';
import type { unitModel } from '../../models/unit.js';
import { LinkError, WarpClient, backoffDelay, type LaneTypesOf } from '../../src/client/index.js';
import { MemoryStateStore, SimulatedClock, startNode } from '../../src/index.js';
import { UNIT, warpNode } from '../support/warp.js';

type Unit = LaneTypesOf<ReturnType<typeof unitModel>>;
const clients: WarpClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
function client(
  url: string,
  encoding: 'recon' | 'json',
  extra: Partial<ConstructorParameters<typeof WarpClient>[0]> = {},
): WarpClient {
  const c = new WarpClient({ url, encoding, WebSocket, reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, ...extra });
  clients.push(c);
  return c;
}

describe.each(['recon', 'json'] as const)('WarpClient (%s)', (encoding) => {
  it('syncs typed lanes, iterates events and round-trips commands', async () => {
    const node = await warpNode();
    const c = client(node.ws, encoding);
    const unit = c.twin<Unit>(UNIT);
    const secured = unit.sync('secured');
    await secured.synced;
    expect(secured.value).toBe(false);
    const sources = unit.sync('alarmSources');
    await sources.synced;
    // Recon has one empty record for [] and {} (docs/recon.md); JSON keeps them apart.
    expect(sources.value).toEqual(encoding === 'json' ? [] : {});
    unit.command('secure', true);
    for await (const { node: n, event } of secured) {
      expect(n).toBe(UNIT);
      if (event.type === 'value' && event.value === true) break; // unlinks
    }
    expect(secured.isClosed).toBe(true);
    expect(await node.runtime.get(UNIT, 'secured')).toBe(true);
  });

  it('asks for a link rate: changes within the interval are held and conflated on the server', async () => {
    const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
    const node = await warpNode({ clock });
    const c = client(node.ws, encoding);
    const other = UNIT.replace(/unit\/j$/, 'unit/k');
    const marks: unknown[] = [];
    await c.sync(other, 'alarmSources', { onEvent: (e) => marks.push((e as { value: unknown }).value) }).synced;
    // Another change on the same socket, on a link without a rate, delivered after everything before it.
    const barrier = async (n: number): Promise<void> => {
      await node.runtime.command(other, 'alarmSources', [`b${n}`]);
      while (!marks.some((m) => JSON.stringify(m).includes(`b${n}`))) await new Promise((r) => setTimeout(r, 2));
    };
    const values: unknown[] = [];
    const secured = c.sync<boolean>(UNIT, 'secured', {
      rate: 1000,
      prio: 2,
      onEvent: (e) => values.push((e as { value: unknown }).value),
    });
    await secured.synced;
    for (const v of [true, false, true]) await node.runtime.command(UNIT, 'secure', v);
    await barrier(1);
    expect(values).toEqual([false]);
    clock.advance(1000);
    while (values.length < 2) await new Promise((r) => setTimeout(r, 2));
    expect(values).toEqual([false, true]);
  });

  it('reports unknown nodes and lanes as LinkError and supports wildcard links with callbacks', async () => {
    const node = await warpNode();
    const c = client(node.ws, encoding);
    const missing = c.sync('/nowhere', 'x');
    await expect(missing.synced).rejects.toMatchObject({ reason: 'nodeNotFound', code: 'TWIN_NO_ROUTE' });
    await expect(c.sync(UNIT, 'nope').synced).rejects.toBeInstanceOf(LinkError);
    const seen: string[] = [];
    const wild = c.sync<boolean>('/org/contoso/site/berlin/building/41/floor/3/unit/*', 'secured', {
      onEvent: (e, n) => seen.push(`${n}=${(e as { value: boolean }).value}`),
    });
    await node.runtime.command(UNIT, 'secure', true);
    await wild.synced;
    await expect.poll(() => seen).toContain(`${UNIT}=true`);
  });

  it('reconnects with backoff after the socket drops, relinks and resyncs', async () => {
    const node = await warpNode();
    const c = client(node.ws, encoding);
    let syncs = 0;
    const statuses: string[] = [];
    c.onStatus((s) => statuses.push(s));
    const link = c.sync<boolean>(UNIT, 'secured', { onSynced: () => syncs++ });
    await link.synced;
    expect(syncs).toBe(1);
    for (const s of node.warp.sessions()) expect(s.linkCount).toBe(1);
    // Drop every socket from the server side; meanwhile the state changes.
    for (const s of node.warp.sessions()) s.close();
    await node.warp.close();
    await node.runtime.command(UNIT, 'secure', true);
    // The front is gone for good on this node, so bring a fresh one up on the same port.
    const port = Number(new URL(node.url).port);
    await node.close();
    const store = new MemoryStateStore();
    const again = await startNode({ models: buildingModels(), port, logger: pino({ level: 'silent' }), store });
    try {
      await again.runtime.command(UNIT, 'secure', true);
      await expect.poll(() => syncs, { timeout: 5000 }).toBe(2);
      expect(link.value).toBe(true);
      expect(statuses).toContain('reconnecting');
      expect(statuses.at(-1)).toBe('open');
      c.command(UNIT, 'secure', false);
      await expect.poll(() => link.value).toBe(false);
    } finally {
      c.close();
      await again.close();
    }
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, caps, and adds bounded jitter', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { initialDelayMs: 100, jitter: 0 }))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(50, { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 })).toBe(1000);
    expect(backoffDelay(0, { initialDelayMs: 100, jitter: 0.5 }, () => 1)).toBe(150);
  });
});
