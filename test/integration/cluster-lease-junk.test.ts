/**
 * A node follows who holds each vshard from the `<space>-leases` bucket. An entry there that
 * names no node (another writer's, or a stray key) made its watch end and every full re-read
 * throw, so the node stopped following leases: a node that joined later was never routed
 * to. Such entries are skipped. Three nodes in this process on a real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { untilBothOwnAll } from '../support/cluster-pair.js';
import { pollUntil } from '../support/poll.js';
import { richValueSet } from '../support/rich-value-model.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

describe.skipIf(!hasNatsServer)('lease entries that name no node', () => {
  it('are skipped: a node still routes to a node that joined after them', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const VSHARDS = 6;
    const node = (id: string): Runtime => {
      const rt = createRuntime({
        modelSet: richValueSet,
        logger: pino({ level: 'silent' }),
        cluster: { servers, nodeId: id, vshards: VSHARDS, leaseMs: 3_000 },
      });
      runtimes.push(rt);
      return rt;
    };
    const a = node('a');
    const b = node('b');
    await untilBothOwnAll(a, b, VSHARDS);

    const nc = await connect({ servers });
    const leases = await new Kvm(nc).open('twinflow-leases');
    await leases.put('v.99', 'not json');
    await leases.put('v.98', JSON.stringify({ node: 5 }));
    await leases.put('v.97', 'null');
    await leases.put('x.1', JSON.stringify({ node: 'ghost' }));
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
    // Every album reads through a, wherever it runs (c's routed by the leases a follows).
    const albums = Array.from({ length: 12 }, (_, i) => `/album/${i}`);
    for (const album of albums)
      expect(
        (await c.ingest({ subject: album, type: 'set', data: { names: [['n', 1]], at: 0, bytes: [] } })).rejected,
      ).toEqual([]);
    await c.settle();
    for (const album of albums) expect((await a.read(album, ['meta'])).lanes.meta).not.toBeNull();
  }, 90_000);
});
