/**
 * WARP links in a twin space on 3 nodes: a client of one node links to a twin another
 * node runs, sees its changes live, and keeps its link when that node is killed (-9):
 * the link attaches to the new owner, which sends a fresh sync, and changes flow again.
 * A wildcard link of that client covers matching twins on every node, and a twin that
 * moved to another node reaches it from there.
 */
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildingModels } from '../../models/index.js';
import { ModelCatalog } from '../../src/actors/catalog.js';
import { vshardOf } from '../../src/cluster/vshards.js';
import { WarpClient } from '../../src/client/index.js';
import { shardKeyUpTo } from '../../src/index.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { serveProcess, type ServeProcess } from '../support/serve.js';

const catalog = new ModelCatalog(buildingModels(), shardKeyUpTo('building'));

async function ownerOf(servers: string[], path: string): Promise<string | undefined> {
  const nc = await connect({ servers });
  try {
    const e = await (await new Kvm(nc).open('twinflow-leases')).get(`v.${vshardOf(catalog, path, 256)}`);
    return e?.operation === 'PUT' ? (JSON.parse(e.string()) as { node: string }).node : undefined;
  } finally {
    await nc.close();
  }
}

async function post(node: ServeProcess, subject: string, data: unknown): Promise<void> {
  const res = await fetch(`${node.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, data }),
  });
  expect(res.status).toBe(202);
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!hasNatsServer)('links across nodes (serve --cluster, 3 nats-servers)', () => {
  it('a WARP client of one node follows a twin another node runs, through that node being killed', async () => {
    const nats = await natsCluster(3);
    const ids = ['a', 'b', 'c'];
    const nodes = Object.fromEntries(
      await Promise.all(
        ids.map(
          async (id) =>
            [
              id,
              await serveProcess([
                '--port',
                '0',
                '--mqtt-port',
                '0',
                '--cluster',
                nats.urls().join(','),
                '--node-id',
                id,
                '--cluster-replicas',
                '3',
                '--cluster-lease',
                '3000',
              ]),
            ] as const,
        ),
      ),
    );
    // A room that b or c runs (not a, where the client connects), once placement settled.
    let room = '';
    let owner: string | undefined;
    await until('placement settles', 20_000, async () => {
      for (let i = 0; i < 50; i++) {
        room = `/org/o/site/s/building/${100 + i}/floor/1/unit/a/room/1`; // not one of the wildcard part's rooms
        owner = await ownerOf(nats.urls(), room);
        if (owner === 'b' || owner === 'c') return true;
      }
      return false;
    });
    const feeder = nodes[owner === 'b' ? 'c' : 'b']!;

    // Rooms 1 of buildings 0-29: spread over the three nodes' vshards.
    const rooms = Array.from({ length: 30 }, (_, i) => `/org/o/site/s/building/${i}/floor/1/unit/a/room/1`);
    await until('the rooms are owned by all three nodes', 20_000, async () => {
      const owners = await Promise.all(rooms.map((r) => ownerOf(nats.urls(), r)));
      return owners.every((o) => o !== undefined) && new Set(owners).size === 3;
    });
    const client = new WarpClient({ url: nodes.a!.url.replace(/^http/, 'ws') + '/', WebSocket });
    try {
      const wildSeen = new Map<string, unknown>();
      const wild = client.sync<boolean>('/org/o/site/s/building/*/floor/1/unit/a/room/1', 'occupied', {
        onEvent: (e, path) => wildSeen.set(path, (e as { value: unknown }).value),
      });
      await wild.synced;
      for (const r of rooms) await post(nodes.b!, `${r}/sensors/occupancy`, { occupied: true });
      await until('the wildcard link sees the rooms of every node', 15_000, () =>
        rooms.every((r) => wildSeen.get(r) === true),
      );

      const values: unknown[] = [];
      const link = client.sync<boolean>(room, 'occupied', {
        onEvent: (e) => values.push((e as { value: unknown }).value),
      });
      await link.synced;
      expect(link.value).toBe(false);
      await post(feeder, `${room}/sensors/occupancy`, { occupied: true });
      await until('the change reaches the client of node a', 10_000, () => link.value === true);

      // The twin's node dies; a change made meanwhile reaches the client from the new owner.
      nodes[owner!]!.child.kill('SIGKILL');
      await post(nodes.a!, `${room}/sensors/occupancy`, { occupied: false });
      await until('the link follows the twin to its new node', 20_000, () => link.value === false);
      expect(await ownerOf(nats.urls(), room)).not.toBe(owner);
      await post(nodes.a!, `${room}/sensors/occupancy`, { occupied: true });
      await until('live changes flow from the new owner', 10_000, () => link.value === true);
      expect(values.at(-1)).toBe(true);

      // The wildcard link reaches the moved twins on their new node too.
      for (const r of rooms) await post(nodes.a!, `${r}/sensors/occupancy`, { occupied: false });
      await until('the wildcard link sees every room again, moved ones from their new node', 15_000, () =>
        rooms.every((r) => wildSeen.get(r) === false),
      );
    } finally {
      client.close();
    }
  }, 90_000);
});
