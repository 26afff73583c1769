/**
 * A vshard's state on a node against a real nats-server: the rules that keep a twin's
 * memory equal to its state log across restores (issue 16, the stream leader's kill -9):
 * a twin of a vshard that is not open here has no state to load (it must not start
 * empty), input that failed for a passing reason holds the restart point back, and the
 * reads a restore or a membership poll makes create no JetStream consumer (nats-server
 * 2.9 times those out while one server of the cluster is down).
 */
import { describe, expect, it } from 'vitest';
import { ChangelogStore } from '../../src/cluster/changelog-store.js';
import { LeaseView } from '../../src/cluster/lease-view.js';
import { monotonicMs } from '../../src/cluster/monotonic.js';
import { resolveClusterOptions } from '../../src/cluster/cluster-options.js';
import { settledForGood } from '../../src/cluster/input-consumer.js';
import { NatsLink } from '../../src/cluster/nats-link.js';
import { encodeInput } from '../../src/cluster/input-codec.js';
import { settleSpace } from '../../src/cluster/space-settle.js';
import { StateLog } from '../../src/cluster/state-log.js';
import { TwinError } from '../../src/errors.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';

const A = '/group/g/counter/1';
const B = '/group/g/counter/2';
/** Two vshards: counter 1 in vshard 1, counter 2 in vshard 2. */
const vshardOf = (path: string): number => Number(path.slice(path.lastIndexOf('/') + 1));

async function openLink(servers: string[]): Promise<NatsLink> {
  return NatsLink.open(resolveClusterOptions({ servers, space: 't', nodeId: 'a', vshards: 4 }));
}

async function consumers(link: NatsLink, stream: string): Promise<number> {
  return (await link.jsm.streams.info(stream)).state.consumer_count;
}

describe('settledForGood: which failed inputs may the restart point pass', () => {
  it('passes applied input and input refused for what it is; holds back passing failures', () => {
    expect(settledForGood(undefined)).toBe(true);
    expect(settledForGood(new TwinError('TWIN_PAYLOAD_REJECTED'))).toBe(true);
    expect(settledForGood(new TwinError('TWIN_EVENT_INVALID'))).toBe(true);
    expect(settledForGood(new TwinError('TWIN_TURN_FAILED'))).toBe(true);
    expect(settledForGood(new TwinError('TWIN_FENCED'))).toBe(false);
    expect(settledForGood(new TwinError('TWIN_NOT_OWNER'))).toBe(false);
    expect(settledForGood(new TwinError('TWIN_STORE_FAILED'))).toBe(false);
    expect(settledForGood(new TwinError('TWIN_CLUSTER_UNAVAILABLE'))).toBe(false);
    expect(settledForGood(new TwinError('TWIN_RATE_LIMITED'))).toBe(false);
    expect(settledForGood(new Error('timeout'))).toBe(false);
  });
});

describe('LeaseView: the leases a node shares with its worker threads', () => {
  it('is valid for the epoch held until its deadline, in every thread that maps the memory', () => {
    const view = new LeaseView(new SharedArrayBuffer(LeaseView.bytes(4)), 4);
    const other = new LeaseView(view.buffer, 4); // what a worker builds from the same memory
    expect(other.valid(2, 7)).toBe(false);
    view.set(2, 7, monotonicMs() + 60_000);
    expect(other.valid(2, 7)).toBe(true);
    expect(other.held(2)).toBe(7);
    expect(other.valid(2, 6)).toBe(false); // an earlier ownership's epoch
    expect(other.valid(1, 7)).toBe(false);
    view.set(2, 7, monotonicMs() - 1); // the deadline passed (renewals failed)
    expect(other.valid(2, 7)).toBe(false);
    expect(other.held(2)).toBeUndefined();
    view.set(3, 9, monotonicMs() + 60_000);
    view.clear(3);
    expect(other.valid(3, 9)).toBe(false);
  });
});

describe.skipIf(!hasNatsServer)('a vshard state log on a nats-server', () => {
  it('loads a twin only from an open vshard, restores it from its log, and makes no consumer doing so', async () => {
    const nats = await natsCluster(1);
    const link = await openLink(nats.urls());
    try {
      const log = new StateLog(link.js, link.jsm, link.names);
      const store = new ChangelogStore(log, link.jsm, link.names, vshardOf, () => true);
      // Not open: no answer at all, rather than "no state" (a twin would start empty).
      expect(() => store.load(A)).toThrow(expect.objectContaining({ code: 'TWIN_FENCED' }));

      expect(await store.open(1, 1)).toEqual({ after: 0, from: 'log', unreadable: 0 });
      expect(await store.open(2, 1)).toEqual({ after: 0, from: 'log', unreadable: 0 });
      // The join fence: vshard 5's owner under epoch 10 sent a join; one of epoch 9 is older.
      expect(store.admitJoin(1, 5, 10)).toBe(true);
      expect(store.admitJoin(1, 5, 9)).toBe(false);
      expect(store.admitJoin(1, 6, 9)).toBe(true);
      await store.write([
        { op: 'record', path: A, values: { total: 1, $seq: 5 }, created: true },
        { op: 'put', path: A, lane: 'applied', key: 'e1', value: 1 },
        { op: 'record', path: B, values: { total: 7 }, created: true },
      ]);
      await store.write([{ op: 'record', path: A, values: { total: 2, $seq: 9 } }]);
      expect((await store.load(A))?.values).toEqual({ total: 2, $seq: 9 });

      // A checkpoint (a graceful handoff) leaves one snapshot to restore from, with the same state.
      expect((await log.restore(1)).sinceSnapshot).toBeGreaterThanOrEqual(3);
      await store.checkpoint(1);
      const snapshot = await log.restore(1);
      expect(snapshot.sinceSnapshot).toBe(0);
      expect(snapshot.ops.find((w) => w.op === 'record' && w.path === A)).toMatchObject({
        values: { total: 2, $seq: 9 },
      });

      // Closed (moved away, or being restored): its twins are gone, and cannot start empty.
      store.closeVshard(1);
      expect(() => store.load(A)).toThrow(expect.objectContaining({ code: 'TWIN_FENCED' }));
      expect((await store.load(B))?.values).toEqual({ total: 7 });

      // Opened again (a later epoch): restored from the log by message gets, no consumer.
      const before = await consumers(link, link.names.stateStream);
      await store.open(1, 2);
      expect(await consumers(link, link.names.stateStream)).toBe(before);
      const restored = await store.load(A);
      expect(restored?.values).toEqual({ total: 2, $seq: 9 });
      expect(restored?.entries.get('applied')?.get('e1')).toBe(1);
      // The fence is part of the vshard's state: a restored owner refuses the same stale joins.
      expect(store.admitJoin(1, 5, 9)).toBe(false);
      expect(store.admitJoin(1, 6, 8)).toBe(false);
      expect(store.admitJoin(1, 5, 10)).toBe(true);
    } finally {
      await link.close();
    }
  }, 60_000);

  it('restores every value a lane may hold as it was written; a node message that does not read back stops the restore', async () => {
    const nats = await natsCluster(1);
    const link = await openLink(nats.urls());
    try {
      const log = new StateLog(link.js, link.jsm, link.names);
      const store = new ChangelogStore(log, link.jsm, link.names, vshardOf, () => true);
      await store.open(1, 1);
      const values = {
        byName: new Map([['a', 1]]),
        byNumber: new Map([[7, 'seven']]),
        byObject: new Map<unknown, number>([[{ k: 1 }, 2]]),
        at: new Date(1_700_000_000_000),
        raw: Uint8Array.from([1, 2, 3]),
        plain: { nested: [1, { x: 'y' }] },
      };
      await store.write([{ op: 'record', path: A, values, created: true }]);
      // Through the log, as a new owner reads it (before: the Maps came back as objects, and
      // one with object keys did not decode at all).
      const restored = (await log.restore(1)).ops.find((w) => w.op === 'record' && w.path === A);
      expect(restored).toMatchObject({ values });
      const back = (restored as unknown as { values: typeof values }).values;
      expect(back.byNumber).toBeInstanceOf(Map);
      expect([...back.byObject.keys()]).toEqual([{ k: 1 }]);
      expect(back.at).toBeInstanceOf(Date);

      // Bytes under a node's codec header that do not read back: the restore stops, loudly,
      // rather than go on without a commit a node wrote. Without the header they are skipped.
      const { headers } = await import('@nats-io/transport-node');
      const { LOG_CODEC_HEADER, logCodec } = await import('../../src/cluster/log-entries.js');
      await link.js.publish(link.names.state(2), new Uint8Array([0xc1]));
      expect((await log.restore(2)).unreadable).toBe(1);
      const marked = headers();
      marked.set(LOG_CODEC_HEADER, logCodec());
      await link.js.publish(link.names.state(2), new Uint8Array([0xc1]), { headers: marked });
      await expect(log.restore(2)).rejects.toMatchObject({ code: 'TWIN_CLUSTER_UNAVAILABLE' });
    } finally {
      await link.close();
    }
  }, 60_000);

  it('lists the live members without making a consumer', async () => {
    const nats = await natsCluster(1);
    const link = await openLink(nats.urls());
    try {
      await link.nodes.put('n.a', JSON.stringify({ id: 'a', startedAt: 1 }));
      await link.nodes.put('n.b', JSON.stringify({ id: 'b', startedAt: 2 }));
      await link.nodes.put('n.c', JSON.stringify({ id: 'c', startedAt: 3 }));
      await link.nodes.delete('n.c');
      const before = await consumers(link, `KV_${link.names.nodesBucket}`);
      const keys = (await link.members()).map((e) => e.key).sort();
      expect(keys).toEqual(['n.a', 'n.b']);
      expect(await consumers(link, `KV_${link.names.nodesBucket}`)).toBe(before);
    } finally {
      await link.close();
    }
  }, 60_000);

  it('settles the space once every vshard log says its input up to the call is applied, and what arrived meanwhile', async () => {
    const nats = await natsCluster(1);
    const link = await openLink(nats.urls());
    try {
      const log = new StateLog(link.js, link.jsm, link.names);
      const { names, js, jsm } = link;
      const input = (n: number) =>
        js.publish(
          names.input(3),
          encodeInput({ k: 'b', evs: [{ id: `e${n}`, source: 't', type: 'x', subject: A, time: 0, data: {} }] }),
        );
      // Nothing stored: settled at once. Nor does input on subjects of no vshard of a space
      // of 16 hold it (a foreign writer's; nobody would ever apply it).
      await settleSpace(jsm, names, 16);
      await js.publish(names.input(16), encodeInput({ k: 'b', evs: [] }));
      await js.publish(`${names.space}.in.x`, encodeInput({ k: 'b', evs: [] }));
      await settleSpace(jsm, names, 16);
      const { seq } = await input(1);
      // Stored and not applied (vshard 3 has no owner): not settled while that lasts.
      const stuck = new AbortController();
      const waiting = settleSpace(jsm, names, 16, stuck.signal);
      await new Promise((r) => setTimeout(r, 500));
      stuck.abort();
      await expect(waiting).rejects.toMatchObject({ code: 'TWIN_NOT_SETTLED' });
      // Its owner records the input as applied: settled, unless more came meanwhile.
      const claim = await log.append(3, 'o', 1, 0, [], 0);
      const done = settleSpace(jsm, names, 16);
      await new Promise((r) => setTimeout(r, 300));
      const more = await input(2); // arrives while settle waits: it must wait for this one too
      const applied1 = await log.append(3, 'c', 1, seq, [], claim.last);
      await new Promise((r) => setTimeout(r, 300));
      let finished = false;
      void done.then(() => (finished = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(finished).toBe(false);
      await log.append(3, 'c', 1, more.seq, [], applied1.last);
      await done;
    } finally {
      await link.close();
    }
  }, 60_000);
});
