import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildingModelSource } from '../../models/index.js';
import { WarpClient } from '../../src/client/index.js';
import { ROOM, UNIT, warpNode } from '../support/warp.js';

const clients: WarpClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('WARP links with twins on worker threads', () => {
  it('syncs, streams, follows wildcard filters and round-trips commands across 2 workers', async () => {
    const node = await warpNode({ workers: 2, modelSource: buildingModelSource() });
    const c = new WarpClient({ url: node.ws, encoding: 'json', WebSocket });
    clients.push(c);
    const secured = c.sync<boolean>(UNIT, 'secured');
    await secured.synced;
    expect(secured.value).toBe(false);
    const rooms = c.sync<boolean>(`${UNIT}/room/*`, 'occupied');
    await rooms.synced;
    const site = c.sync<boolean>('/org/contoso/site/berlin', 'alarm');
    await site.synced;

    await node.runtime.ingest([
      { subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } },
      { subject: `${ROOM}/sensors/fire`, data: { alarm: true } },
    ]);
    c.command(UNIT, 'secure', true);

    const seen: string[] = [];
    for await (const { node: path, event } of rooms) {
      if (event.type === 'value') seen.push(`${path}=${String(event.value)}`);
      if (seen.includes(`${ROOM}=true`)) break;
    }
    for await (const { event } of secured) if (event.type === 'value' && event.value === true) break;
    // The site lives on another shard key: its alarm arrives through a cross-worker join.
    for await (const { event } of site) if (event.type === 'value' && event.value === true) break;
    expect(await node.runtime.get(UNIT, 'securityAlert')).toBe(true);
  }, 30_000);
});
