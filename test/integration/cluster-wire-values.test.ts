/**
 * Lane values holding Maps (number keys, a "__proto__" key), Dates and bytes read the same
 * from the node that runs the twin and from another node of the space: a remote read and a
 * remote WARP link carry them as a reader gets them (toWireJs), where msgpackr's default
 * decoding turned a number-keyed Map into an object and renamed "__proto__". Two nodes in
 * this process on a real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { toWireJs } from '../../src/protocol/wire-js.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { richValueNode, untilBothOwnAll } from '../support/cluster-pair.js';
import { pollUntil } from '../support/poll.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

const DATA = {
  names: [
    ['a', 1],
    ['__proto__', 2],
  ],
  at: Date.UTC(2026, 11, 7),
  bytes: [1, 2, 255],
};

describe.skipIf(!hasNatsServer)('Maps, Dates and bytes across the nodes of a space', () => {
  it('read and link the same from the owner and from another node', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const node = (id: string): Runtime => richValueNode(runtimes, servers, id, 4);
    const a = node('a');
    const b = node('b');
    await untilBothOwnAll(a, b, 4);
    // Albums on both nodes' vshards: each node reads one of its own and one of the other's.
    const albums = Array.from({ length: 8 }, (_, i) => `/album/${i}`);
    for (const album of albums)
      expect((await a.ingest({ subject: album, type: 'set', data: DATA })).rejected).toEqual([]);
    await a.settle();
    const links: unknown[] = [];
    const link = b.link(albums[0]!, 'meta', (e) => links.push(e));
    for (const album of albums) {
      const fromA = toWireJs((await a.read(album, ['meta'])).lanes.meta);
      const fromB = toWireJs((await b.read(album, ['meta'])).lanes.meta);
      expect(fromB).toEqual(fromA);
      expect(JSON.parse(JSON.stringify(fromA))).toEqual({
        byName: [
          ['a', 1],
          ['__proto__', 2],
        ], // a "__proto__" key: pairs, not an object key
        byNumber: [
          [1, 'n1'],
          [2, 'n2'],
        ],
        at: '2026-12-07T00:00:00.000Z',
        raw: 'AQL/',
      });
    }
    await pollUntil(
      'the link synced',
      10_000,
      async () => links.length,
      (n) => n > 0,
    );
    expect(JSON.parse(JSON.stringify(toWireJs(links.at(-1))))).toMatchObject({
      value: {
        byNumber: [
          [1, 'n1'],
          [2, 'n2'],
        ],
      },
    });

    // Bytes msgpack cannot read, on the subject of b's link (a foreign writer): the link is made
    // again (a throw in the callback ended the node's NATS processing), and later changes arrive.
    const nc = await connect({ servers });
    const subjects = new Set<string>();
    const watch = nc.subscribe('twinflow.link.b.>', { callback: (_e, m) => void subjects.add(m.subject) });
    await a.ingest({ subject: albums[0]!, type: 'set', data: { ...DATA, names: [['z', 9]] } });
    await pollUntil(
      'a frame of the link seen',
      10_000,
      async () => subjects.size,
      (n) => n > 0,
    );
    watch.unsubscribe();
    for (const s of subjects) nc.publish(s, Uint8Array.of(0x92, 0x01)); // an array of 2 that ends after 1: unpack throws
    await nc.flush();
    await nc.close();
    const seen = links.length;
    await a.ingest({ subject: albums[0]!, type: 'set', data: { ...DATA, names: [['after', 1]] } });
    await pollUntil(
      'the change after the junk frame arrived',
      10_000,
      async () => links.slice(seen).map((e) => JSON.stringify(toWireJs(e))),
      (events) => events.some((e) => e.includes('"after"')),
    );
    link.close();
  }, 60_000);
});
