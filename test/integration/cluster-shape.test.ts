/**
 * Every node of a twin space uses the vshard count the space was created with (docs/cluster.md):
 * a node started with another `--cluster-vshards` would own vshards nobody else holds leases
 * for, and run a second copy of twins another node runs. Refused at start with a clear error,
 * also when no node of the space is alive (a whole-cluster restart with a changed flag); on a
 * real nats-server.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import type { VShardRunner } from '../../src/cluster/placement.js';
import { NatsLink } from '../../src/cluster/nats-link.js';
import { resolveClusterOptions } from '../../src/cluster/cluster-options.js';
import { createLogger } from '../../src/logger.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';

const runner: VShardRunner = { start: async () => 'log', stop: async () => undefined };
const log = createLogger('silent');

describe.skipIf(!hasNatsServer)('the vshard count of a twin space', () => {
  it('refuses a node started with another count, even with no node of the space alive', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const first = await ClusterMember.join({ servers, space: 'cut', nodeId: 'a', vshards: 16 }, runner, log);
    await first.leave(); // nobody of the space is alive now; its streams and its count stay
    const refused = ClusterMember.join({ servers, space: 'cut', nodeId: 'b', vshards: 8 }, runner, log);
    await expect(refused).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
      message: expect.stringContaining(
        'cluster space cut is cut into 16 vshards, this node was started with --cluster-vshards 8',
      ),
    });
    // The default (256) is another count too: a node restarted without the flag is refused as well.
    await expect(NatsLink.open(resolveClusterOptions({ servers, space: 'cut', nodeId: 'c' }))).rejects.toThrow(
      'is cut into 16 vshards, this node was started with --cluster-vshards 256',
    );
    const again = await ClusterMember.join({ servers, space: 'cut', nodeId: 'b', vshards: 16 }, runner, log);
    expect(again.members.current()).toEqual(['b']);
    await again.leave();
  });

  it('lets nodes of the same count share a space, and another space have its own count', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const a = await ClusterMember.join({ servers, space: 'one', nodeId: 'a', vshards: 32 }, runner, log);
    const b = await ClusterMember.join({ servers, space: 'one', nodeId: 'b', vshards: 32 }, runner, log);
    const other = await ClusterMember.join({ servers, space: 'two', nodeId: 'x', vshards: 4 }, runner, log);
    try {
      expect(b.members.current()).toEqual(['a', 'b']);
      expect(other.members.current()).toEqual(['x']);
    } finally {
      await Promise.all([a.leave(), b.leave(), other.leave()]);
    }
  });

  it('refuses a space whose recorded count is unreadable rather than guess', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const first = await NatsLink.open(resolveClusterOptions({ servers, space: 'bad', nodeId: 'a', vshards: 4 }));
    const kv = await new (await import('@nats-io/kv')).Kvm(first.nc).open('bad-space');
    await kv.put('shape', new TextEncoder().encode('not json'));
    await first.close();
    await expect(
      NatsLink.open(resolveClusterOptions({ servers, space: 'bad', nodeId: 'b', vshards: 4 })),
    ).rejects.toThrow('its recorded shape (key "shape" of bucket bad-space) is unreadable');
  });
});
