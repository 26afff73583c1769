/**
 * A node follows who holds each vshard from the `<space>-leases` bucket, and who is a member
 * from `<space>-nodes`. An entry in the leases that names no node (another writer's, or a
 * stray key) made the watch end and every full re-read throw: the node stopped following
 * leases, and a node starting then failed. A member entry that is no node's own put a node
 * into the view that takes no vshard, so its share went unowned. Such entries are skipped.
 * Three nodes in this process on a real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { readSpaceStatus } from '../../src/cluster/space-status.js';
import { statusTable } from '../../src/cli/cluster-cli.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { richValueNode, untilBothOwnAll } from '../support/cluster-pair.js';
import { pollUntil } from '../support/poll.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

describe.skipIf(!hasNatsServer)('lease entries that name no node', () => {
  it('are skipped: a node still routes to a node that joined after them', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const VSHARDS = 6;
    const node = (id: string): Runtime => richValueNode(runtimes, servers, id, VSHARDS);
    const a = node('a');
    const b = node('b');
    await untilBothOwnAll(a, b, VSHARDS);

    const nc = await connect({ servers });
    const leases = await new Kvm(nc).open('twinflow-leases');
    await leases.put('v.99', 'not json');
    await leases.put('v.98', JSON.stringify({ node: 5 }));
    await leases.put('v.97', 'null');
    await leases.put('x.1', JSON.stringify({ node: 'ghost' }));
    const members = await new Kvm(nc).open('twinflow-nodes');
    await members.put('n.ghost', JSON.stringify({ id: 'phantom', startedAt: 0 })); // names another node
    await members.put('n.blank', 'null');
    await members.put('stray', JSON.stringify({ id: 'stray', startedAt: 0 }));
    // Own keys, but nothing `cluster status` could print: no start time, one no Date holds, a URL that is a number.
    await members.put('n.x', JSON.stringify({ id: 'x' }));
    await members.put('n.y', JSON.stringify({ id: 'y', startedAt: 1e20 }));
    await members.put('n.z', JSON.stringify({ id: 'z', startedAt: 1, http: 5 }));
    await nc.close();

    const c = node('c');
    await c.ready();
    await pollUntil(
      'c holds some vshards, and a knows it',
      30_000,
      async () => ({
        c: c.cluster!.owned().length,
        seenByA: [...a.cluster!.ownerMap().values()].filter((n) => n === 'c').length,
      }),
      (s) => s.c > 0 && s.seenByA === s.c,
    );
    // Every vshard has an owner among the three (a phantom member would have taken a share).
    await pollUntil(
      'every vshard owned by a, b or c',
      30_000,
      async () => [...a.cluster!.ownerMap().entries()].filter(([v, n]) => v < VSHARDS && 'abc'.includes(n)).length,
      (owned) => owned === VSHARDS,
    );
    // Every album reads through a, wherever it runs (c's routed by the leases a follows).
    const albums = Array.from({ length: 12 }, (_, i) => `/album/${i}`);
    for (const album of albums)
      expect(
        (await c.ingest({ subject: album, type: 'set', data: { names: [['n', 1]], at: 0, bytes: [] } })).rejected,
      ).toEqual([]);
    await c.settle();
    for (const album of albums) expect((await a.read(album, ['meta'])).lanes.meta).not.toBeNull();
    // `cluster status` reads the same buckets through the same rules (it threw on the first such entry).
    const status = await readSpaceStatus({ servers, vshards: VSHARDS });
    expect(status.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(statusTable(status)).toMatch(/3 live node\(s\)/); // the table prints (it threw on such an entry)
    expect(status.unowned).toEqual([]);
    expect(status.vshards.every((v) => v.owner !== undefined && 'abc'.includes(v.owner))).toBe(true);
  }, 90_000);
});
