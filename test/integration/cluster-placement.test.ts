/**
 * The cluster's control plane against real nats-servers (3, clustered, JetStream R3) and
 * members as real processes: every vshard has one owner, a kill -9'd member's vshards are
 * owned again within the lease bound, a frozen member (SIGSTOP past its lease) acts for
 * none of them when it wakes, a graceful leave hands off at once, and the ownership log
 * of every member shows no two owners of a vshard at once and rising epochs.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import {
  expectNoTwoOwners,
  hasNatsServer,
  memberProcess,
  natsCluster,
  ownershipPeriods,
  type MemberProcess,
} from '../support/nats.js';
import { liveEntries } from '../../src/cluster/kv-listing.js';
import { tempDir } from '../support/tmp.js';

const VSHARDS = 64;
const LEASE_MS = 2_000;
const HEARTBEAT_MS = 200;
const STABLE_MS = 600;
/** Lease expiry + 3 missed heartbeats + a settled view + a tick, with room for a loaded machine. */
const TAKEOVER_BOUND_MS = LEASE_MS + 3 * HEARTBEAT_MS + STABLE_MS + 3_000;

async function leaseOwners(servers: string[]): Promise<Map<number, string>> {
  const nc = await connect({ servers });
  try {
    const kv = await new Kvm(nc).open('t-leases');
    const owners = new Map<number, string>();
    // As the nodes list them: no consumer (KV.keys() makes one, and its creation times out on a loaded machine).
    for (const entry of await liveEntries(await jetstreamManager(nc), kv, 't-leases', 'v.*'))
      owners.set(Number(entry.key.slice(2)), (JSON.parse(entry.string()) as { node: string }).node);
    return owners;
  } finally {
    await nc.close();
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function counts(owners: Map<number, string>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const node of owners.values()) c[node] = (c[node] ?? 0) + 1;
  return c;
}

describe.skipIf(!hasNatsServer)('cluster control plane (3 nats-servers, member processes)', () => {
  it('one owner per vshard; kill -9, SIGSTOP past the lease and a graceful leave move vshards without two owners at once', async () => {
    const nats = await natsCluster(3);
    const dir = tempDir();
    const options = (id: string): object => ({
      servers: nats.urls(),
      space: 't',
      nodeId: id,
      vshards: VSHARDS,
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
      stableMs: STABLE_MS,
      replicas: 3,
      ownershipLog: join(dir, `${id}.jsonl`),
    });
    const [a, b, c] = (await Promise.all(['a', 'b', 'c'].map((id) => memberProcess(options(id))))) as [
      MemberProcess,
      MemberProcess,
      MemberProcess,
    ];

    // Settled: all 64 owned, each node a fair share (rendezvous: ~21 each).
    const balanced = await until('all vshards owned by 3 nodes', 15_000, async () => {
      const owners = await leaseOwners(nats.urls());
      return owners.size === VSHARDS && Object.keys(counts(owners)).length === 3 ? owners : undefined;
    });
    for (const n of Object.values(counts(balanced))) expect(n).toBeGreaterThanOrEqual(10);

    // kill -9 of c: its vshards are owned by a or b within the bound.
    const ofC = [...balanced].filter(([, n]) => n === 'c').map(([v]) => v);
    const killedAt = Date.now();
    const killedNs = process.hrtime.bigint();
    c.child.kill('SIGKILL');
    await c.exited;
    await until('c gone from every lease', TAKEOVER_BOUND_MS, async () => {
      const owners = await leaseOwners(nats.urls());
      return ofC.every((v) => owners.get(v) === 'a' || owners.get(v) === 'b') ? true : undefined;
    });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);

    // SIGSTOP b past its lease: a takes everything; b, woken, stops its vshards and then takes its share back.
    b.child.kill('SIGSTOP');
    await until('a owns every vshard while b is frozen', TAKEOVER_BOUND_MS, async () => {
      const owners = await leaseOwners(nats.urls());
      return owners.size === VSHARDS && [...owners.values()].every((n) => n === 'a') ? true : undefined;
    });
    b.child.kill('SIGCONT');
    await until('b stops the vshards it held when frozen', 5_000, async () =>
      b.lines.some((l) => 'stop' in l && (l.reason === 'expired' || l.reason === 'lost')) ? true : undefined,
    );
    await until('a and b share the vshards again', 15_000, async () => {
      const n = counts(await leaseOwners(nats.urls()));
      return (n.a ?? 0) + (n.b ?? 0) === VSHARDS && (n.b ?? 0) > 0 ? true : undefined;
    });

    // Graceful leave of b: a owns all again well before b's leases could have expired.
    const leftAt = Date.now();
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await until('a owns every vshard after b left', 10_000, async () => {
      const owners = await leaseOwners(nats.urls());
      return owners.size === VSHARDS && [...owners.values()].every((n) => n === 'a') ? true : undefined;
    });
    expect(Date.now() - leftAt).toBeLessThan(LEASE_MS + STABLE_MS + 2_000);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);

    // The ownership log of all three: per vshard, periods never overlap and epochs rise.
    // A period c had open when killed ended with it (same monotonic clock in every process).
    const files = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, join(dir, `${id}.jsonl`)]));
    const periods = ownershipPeriods(files, { c: killedNs });
    expect(periods.length).toBeGreaterThan(VSHARDS * 2);
    expectNoTwoOwners(periods);
  }, 90_000);
});

describe.skipIf(!hasNatsServer)('a member that loses NATS (member process, one nats-server)', () => {
  it('stops every vshard it holds within its lease of losing the server, and its ownership periods end by then', async () => {
    const nats = await natsCluster(1);
    const dir = tempDir();
    const log = join(dir, 'a.jsonl');
    const a = await memberProcess({
      servers: nats.urls(),
      space: 'n',
      nodeId: 'a',
      vshards: 16,
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
      stableMs: STABLE_MS,
      ownershipLog: log,
    });
    const started = (): Set<number> => new Set(a.lines.filter((l) => 'start' in l).map((l) => l.start as number));
    await until('a owns every vshard', 15_000, async () => (started().size === 16 ? true : undefined));

    // The server dies: no renewal can succeed, so every lease runs out on a's own clock.
    const lostNs = process.hrtime.bigint();
    const lostAt = Date.now();
    await nats.killServer(0);
    await until('a stops every vshard', LEASE_MS + 2_000, async () => {
      const stopped = new Set(a.lines.filter((l) => 'stop' in l).map((l) => l.stop as number));
      return [...started()].every((v) => stopped.has(v)) ? true : undefined;
    });
    expect(Date.now() - lostAt).toBeLessThan(LEASE_MS + 1_000);
    expect(a.lines.filter((l) => 'stop' in l).every((l) => l.reason === 'expired')).toBe(true);
    // Each period ends no later than its lease allowed: at most a lease after the server went.
    const periods = ownershipPeriods({ a: log });
    expect(periods).toHaveLength(16);
    for (const p of periods) expect(BigInt(p.end!) - lostNs).toBeLessThan(BigInt(LEASE_MS) * 1_000_000n);
  }, 60_000);
});
