/**
 * A node reads the frames of its remote links (exact and wildcard) from NATS subjects any
 * client of the server may publish to. Frames that decode but are not frames (msgpack nil,
 * a number, an event without a lane event, a wildcard event without a path) once reached
 * `frame.t` or the link's observer and threw inside the subscription's callback, which ends
 * the connection's message processing: every later frame, RPC and input of that node. Such
 * frames are dropped (an exact link is made again), and the links carry on. Two nodes in
 * this process on a real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaneEvent, Runtime } from '../../src/index.js';
import { toWireJs } from '../../src/protocol/wire-js.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { richValueNode, untilBothOwnAll } from '../support/cluster-pair.js';
import { pollUntil } from '../support/poll.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

const DATA = (n: number) => ({ names: [['n', n]], at: 0, bytes: [] });

/** Frames that decode, but as no frame a node sends. */
const NOT_FRAMES: Uint8Array[] = [
  Uint8Array.of(0xc0), // nil
  pack(7),
  pack('e'),
  pack({ t: 'e' }), // no event
  pack({ t: 'e', ev: 5, p: '/album/0' }),
  pack({ t: 'e', ev: null, p: '/album/0' }),
  pack({ t: 'e', ev: { type: 'update', key: 7, value: 1 }, p: '/album/0' }),
  pack({ t: 'e', ev: { type: 'value', value: 1 }, p: 9 }), // a wildcard event's path that is not one
  pack({ t: 'e', ev: { type: 'value', value: 1 } }), // a wildcard event without its path
  pack({ t: 'x' }),
];

describe.skipIf(!hasNatsServer)('frames on a node link subjects that are not frames', () => {
  it('are dropped; exact and wildcard links carry on, and so does the node', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const node = (id: string): Runtime => richValueNode(runtimes, servers, id, 4);
    const a = node('a');
    const b = node('b');
    await untilBothOwnAll(a, b, 4);
    const albums = Array.from({ length: 8 }, (_, i) => `/album/${i}`);
    for (const album of albums)
      expect((await a.ingest({ subject: album, type: 'set', data: DATA(0) })).rejected).toEqual([]);
    await a.settle();

    // As readers get them (toWireJs): a Map in a local event is no JSON object.
    const has = (e: unknown, n: number): boolean => JSON.stringify(toWireJs(e)).includes(`"n${n}"`);
    // b links every album exactly and all of them by wildcard: some run on a, some on b.
    const exact: LaneEvent[] = [];
    const wild: { path: string; event: LaneEvent }[] = [];
    const links = albums.map((album) => b.link(album, 'meta', (e) => exact.push(e)));
    const filter = b.linkFilter('/album/*', 'meta', (event, path) => wild.push({ path, event }));
    await filter.synced;

    // Learn b's link subjects from one change, then publish what is not a frame on each.
    const nc = await connect({ servers });
    const subjects = new Set<string>();
    const watches = ['twinflow.link.b.>', 'twinflow.flink.b.>'].map((s) =>
      nc.subscribe(s, { callback: (_e, m) => void subjects.add(m.subject) }),
    );
    await a.ingest(albums.map((subject) => ({ subject, type: 'set', data: DATA(1) })));
    // Every link saw the change (so each remote link's subject carried a frame to the watch).
    await pollUntil(
      'the change on every exact link and on the wildcard link from every album',
      15_000,
      async () => ({
        exact: exact.filter((e) => has(e, 1)).length,
        wild: new Set(wild.filter((w) => has(w.event, 1)).map((w) => w.path)).size,
      }),
      (seen) => seen.exact >= albums.length && seen.wild === albums.length,
    );
    await nc.flush();
    expect([...subjects].some((x) => x.includes('.flink.'))).toBe(true);
    expect([...subjects].some((x) => x.includes('.link.'))).toBe(true);
    for (const w of watches) w.unsubscribe();
    for (const s of subjects) for (const junk of NOT_FRAMES) nc.publish(s, junk);
    await nc.flush();
    await nc.close();

    // Changes after the junk still reach both kinds of link, for every album.
    const exactSeen = exact.length;
    const wildSeen = wild.length;
    await a.ingest(albums.map((subject) => ({ subject, type: 'set', data: DATA(2) })));
    const hasTwo = (e: LaneEvent): boolean => has(e, 2);
    await pollUntil(
      'the change after the junk on every exact link',
      15_000,
      async () => exact.slice(exactSeen).filter(hasTwo).length,
      (n) => n >= albums.length,
    );
    await pollUntil(
      'the change after the junk on the wildcard link, from every album',
      15_000,
      async () =>
        new Set(
          wild
            .slice(wildSeen)
            .filter((w) => hasTwo(w.event))
            .map((w) => w.path),
        ).size,
      (n) => n === albums.length,
    );
    // And b's own NATS processing is alive: it ingests and reads through the space.
    expect((await b.ingest({ subject: albums[1]!, type: 'set', data: DATA(3) })).rejected).toEqual([]);
    await pollUntil(
      'a read through b sees its own ingest',
      10_000,
      async () => (await b.read(albums[1]!, ['meta'])).lanes.meta,
      (meta) => has(meta, 3),
    );
    for (const l of links) l.close();
    filter.close();
  }, 90_000);
});
