/**
 * Nodes of one twin space must read and write the same store format (docs/cluster.md,
 * "Upgrading across a store format"): a node joining a space that holds a live node of
 * another format (a rolling upgrade across a format change) is refused with a clear error,
 * on a real nats-server.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import type { VShardRunner } from '../../src/cluster/placement.js';
import { NatsLink } from '../../src/cluster/nats-link.js';
import { resolveClusterOptions } from '../../src/cluster/cluster-options.js';
import { createLogger } from '../../src/logger.js';
import { FORMAT_VERSION } from '../../src/store/lmdb-store.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';

const runner: VShardRunner = { start: async () => 'log', stop: async () => undefined };
const log = createLogger('silent');

/** A node of the space as another build announces itself (its heartbeat entry, nothing else). */
async function announce(servers: string[], space: string, info: object): Promise<NatsLink> {
  const link = await NatsLink.open(resolveClusterOptions({ servers, space, nodeId: 'other' }));
  await link.nodes.put('n.other', new TextEncoder().encode(JSON.stringify(info)));
  return link;
}

describe.skipIf(!hasNatsServer)('a twin space of one store format', () => {
  it('refuses to join a space with a live node of another format (a build before formats were announced counts as 1)', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const other = await announce(servers, 'fmt', { id: 'other', startedAt: Date.now() });
    try {
      await expect(ClusterMember.join({ servers, space: 'fmt', nodeId: 'new' }, runner, log)).rejects.toThrow(
        `cluster space fmt has nodes of another store format: other (format 1); this build writes format ${FORMAT_VERSION}`,
      );
      // It left again: the space lists only the other node.
      const keys: string[] = [];
      for await (const k of await other.nodes.keys()) keys.push(k);
      expect(keys).toEqual(['n.other']);
    } finally {
      await other.close();
    }
  });

  it('joins a space whose nodes write its format', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const other = await announce(servers, 'same', { id: 'other', startedAt: Date.now(), format: FORMAT_VERSION });
    try {
      const member = await ClusterMember.join({ servers, space: 'same', nodeId: 'new' }, runner, log);
      expect(member.members.current()).toEqual(['new', 'other']);
      await member.leave();
    } finally {
      await other.close();
    }
  });
});
