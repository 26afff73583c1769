/**
 * Messages no node wrote in the vshards' state logs (`<space>.state.*`), as any client of
 * the space's NATS account can publish: a restore read each one as a log entry, so one
 * message made every later owner of that vshard fail (a TypeError on its `ops`), and
 * `cluster status` with it. Now they are skipped: the owner finds one at its log's head (or
 * its next append after one fails: the log moved under it), the vshard restarts from its
 * log and claims it again, and no acknowledged state is lost; a node taking a vshard over after its owner left restores
 * the same state through the junk. Two nodes in this process on a real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { readSpaceStatus } from '../../src/cluster/space-status.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { richValueNode, untilBothOwnAll } from '../support/cluster-pair.js';
import { pollUntil } from '../support/poll.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

const VSHARDS = 6;
const albums = Array.from({ length: 24 }, (_, i) => `/album/${i}`);

/** What a state-log message might hold that no node writes. */
const JUNK: Uint8Array[] = [
  new Uint8Array([0xc1]), // not msgpack
  pack(null),
  pack(7),
  pack({ k: 'c', e: 1, w: 1, ops: 'nope', end: true }),
  pack({ k: 'c', e: 1, w: 1, ops: [{ op: 'record', path: '/album/0', values: null }], end: true }),
  pack({ k: 's', e: -3, w: 0, ops: [], end: true }),
  pack({ k: 'c', e: 1, w: 1, ops: [{ op: 'journal', path: '/album/0', entry: {} }], end: true }),
];

async function setAll(rt: Runtime, version: number): Promise<void> {
  for (const album of albums) {
    const report = await rt.ingest({
      subject: album,
      type: 'set',
      data: { names: [['v', version]], at: 0, bytes: [] },
    });
    expect(report.rejected).toEqual([]);
  }
}

async function versionOf(rt: Runtime, album: string): Promise<unknown> {
  // Read on the twin's node, or through another (where the map arrives as its wire form).
  const byName = ((await rt.read(album, ['meta'])).lanes.meta as { byName?: unknown } | null)?.byName;
  return byName instanceof Map ? byName.get('v') : (byName as Record<string, unknown> | undefined)?.v;
}

async function untilAll(rt: Runtime, version: number): Promise<void> {
  for (const album of albums)
    await pollUntil(
      `${album} at version ${version}`,
      30_000,
      () => versionOf(rt, album),
      (v) => v === version,
    );
}

describe.skipIf(!hasNatsServer)('state log messages no node wrote', () => {
  it('are skipped: owners claim their logs again, status reads on, and a takeover restores every twin', async () => {
    const nats = await natsCluster(1);
    const servers = nats.urls();
    const a = richValueNode(runtimes, servers, 'a', VSHARDS);
    const b = richValueNode(runtimes, servers, 'b', VSHARDS);
    await untilBothOwnAll(a, b, VSHARDS);
    await setAll(a, 1);
    await untilAll(b, 1);

    // Idle: every input applied and recorded (no watermark-only commit still to come).
    await pollUntil(
      'every vshard idle',
      20_000,
      () => readSpaceStatus({ servers, vshards: VSHARDS }),
      (st) => st.vshards.every((v) => v.pending === 0 && v.watermark >= v.inputLast),
    );
    await new Promise((r) => setTimeout(r, 500));
    const nc = await connect({ servers });
    for (let v = 0; v < VSHARDS; v++) for (const junk of JUNK) nc.publish(`twinflow.state.${v}`, junk);
    await nc.flush();
    // Every vshard is idle now: its log's last message is junk, and status says so instead of failing.
    const idle = await readSpaceStatus({ servers, vshards: VSHARDS });
    // (An owner's head check, every 10 s, may have claimed one or two logs back already.)
    expect(idle.vshards.filter((v) => v.unreadableHead).length).toBeGreaterThanOrEqual(VSHARDS - 2);
    expect(idle.unowned).toEqual([]);
    // Without any input, each owner finds the junk at its log's head (a check every 10 s), its
    // commit after it fails, and the vshard restarts from its log through the junk and claims it.
    await pollUntil(
      'every log claimed again without new input',
      30_000,
      () => readSpaceStatus({ servers, vshards: VSHARDS }),
      (st) => st.vshards.every((v) => v.unreadableHead === undefined),
    );

    await setAll(b, 2);
    await untilAll(a, 2);
    const log = (rt: Runtime) => rt.stats().inputLog;
    // Counted where operators see them (twinflow_cluster_vshard_resets_total): a reset per vshard.
    expect(log(a).resets + log(b).resets).toBeGreaterThanOrEqual(VSHARDS);
    expect(log(a).refused + log(b).refused).toBe(0);
    await pollUntil(
      'every log claimed again by its owner',
      30_000,
      () => readSpaceStatus({ servers, vshards: VSHARDS }),
      (s) => s.vshards.every((v) => v.unreadableHead === undefined && v.pending === 0),
    );

    // More junk, then b leaves: a restores b's vshards from logs with junk in them.
    for (let v = 0; v < VSHARDS; v++) for (const junk of JUNK) nc.publish(`twinflow.state.${v}`, junk);
    await nc.flush();
    await nc.close();
    await b.close();
    runtimes.splice(runtimes.indexOf(b), 1);
    await pollUntil(
      'a owns every vshard',
      30_000,
      async () => a.cluster!.owned().length,
      (n) => n === VSHARDS,
    );
    await untilAll(a, 2);
    await setAll(a, 3);
    await untilAll(a, 3);
    // Restored from logs on the node that runs them: the Map a lane held is a Map again.
    for (const album of albums.slice(0, 4))
      expect(((await a.read(album, ['meta'])).lanes.meta as { byName: unknown }).byName).toBeInstanceOf(Map);
  }, 120_000);
});
