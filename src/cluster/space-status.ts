import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KvEntry } from '@nats-io/kv';
import { leaseNode, leaseVshard } from './lease-entries.js';
import { memberOf } from './membership.js';
import { liveEntries } from './kv-listing.js';
import { checkNatsAuth, natsAuthOptions, natsConnectError, type NatsAuth } from './nats-auth.js';
import { TwinError } from '../errors.js';
import { SpaceNames } from './space-names.js';
import { readSpaceShape } from './space-shape.js';
import { readLogEntry } from './log-entries.js';
import { inParallel, lastOf } from './stream-reads.js';

/** A live node of the space, as its membership entry says. */
export interface NodeStatus {
  readonly id: string;
  readonly http?: string;
  readonly warp?: string;
  /** Wall-clock ms of the node's start. */
  readonly startedAt: number;
  /** ms since the server stored its last heartbeat (the bucket forgets it after 3 missed ones). */
  readonly heartbeatAgeMs: number;
  /** The vshards whose lease it holds, ascending. */
  readonly vshards: readonly number[];
}

/** One vshard: who holds it, under which epoch, and how far its owner is behind its input. */
export interface VshardStatus {
  readonly vshard: number;
  /** Node holding the lease; absent: unowned (no lease, or it expired). */
  readonly owner?: string;
  /** The lease key's current revision: bumped by every renewal, so it grows while the lease lives. */
  readonly leaseRevision?: number;
  /** ms since the server stored the lease's last renewal. */
  readonly leaseAgeMs?: number;
  /**
   * Epoch of the last message in the vshard's state log: the `create` revision of the lease
   * under which the log was last claimed or written (the fencing token; at most `leaseRevision`
   * while the same owner holds it). Absent when the log is empty.
   */
  readonly epoch?: number;
  /**
   * Sequence of the last input the vshard received (0: none). A snapshot purges the input it
   * includes, leaving the subject empty: then the watermark, since that input was received.
   */
  readonly inputLast: number;
  /**
   * The last message of its state log is none a node wrote (another client of the NATS
   * account published there): epoch and watermark are unknown until the owner's next commit
   * claims the log again. Needs a look: who else writes to the space's subjects?
   */
  readonly unreadableHead?: true;
  /** Highest input sequence the state log includes (`w` of its last message; 0: none). */
  readonly watermark: number;
  /**
   * Input messages after the watermark. An upper bound of what is still to apply: an input
   * that changed no state (a duplicate, a refused event) stays counted until a later commit.
   */
  readonly pending: number;
}

export interface SpaceStatus {
  readonly space: string;
  /** Wall-clock ms when it was read. */
  readonly at: number;
  readonly nodes: readonly NodeStatus[];
  readonly vshards: readonly VshardStatus[];
  /** vshards with no lease now. */
  readonly unowned: readonly number[];
  /** Lease holders absent from the membership (dead nodes whose leases have not expired yet). */
  readonly staleOwners: readonly string[];
}

export interface StatusOptions {
  readonly servers: readonly string[];
  /** Credentials and TLS for the servers, as a node's (see nats-auth.ts). */
  readonly auth?: NatsAuth;
  /** The twin space (default `twinflow`). */
  readonly space?: string;
  /** vshards of the space (default: the count the space recorded, else 256). */
  readonly vshards?: number;
}

/**
 * Reads a twin space's state straight from NATS, with no node involved: the membership
 * and lease buckets, the last message of each vshard's input subject and state log, and
 * for a vshard behind its input the count of what is pending (an ephemeral consumer's
 * `num_pending`). What `twinflow cluster status` prints.
 *
 * @example
 * ```ts
 * const status = await readSpaceStatus({ servers: ['nats://127.0.0.1:4222'] });
 * status.unowned; // [] once every vshard has an owner
 * ```
 */
export async function readSpaceStatus(options: StatusOptions): Promise<SpaceStatus> {
  const names = new SpaceNames(options.space ?? 'twinflow');
  checkNatsAuth(options.auth, options.servers);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...options.servers],
      ...natsAuthOptions(options.auth),
      name: 'twinflow cluster status',
      timeout: 5_000,
    });
  } catch (err) {
    throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', natsConnectError(options.servers, err as Error, options.auth));
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 }).catch((err: Error) => {
      throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', `NATS JetStream is not usable: ${err.message}`);
    });
    for (const stream of [`KV_${names.space}-nodes`, `KV_${names.space}-leases`, names.inputStream])
      await jsm.streams.info(stream).catch((err: Error) => {
        throw new TwinError(
          'TWIN_CLUSTER_UNAVAILABLE',
          /not found/i.test(err.message)
            ? `no twin space "${names.space}" on these servers (stream ${stream} is missing; has a node joined?)`
            : `cannot read stream ${stream}: ${err.message}`,
        );
      });
    const kvm = new Kvm(nc);
    // The count the space was created with (see space-shape.ts), unless the caller names one.
    const count = options.vshards ?? (await readSpaceShape(kvm, names.shapeBucket))?.vshards ?? 256;
    const at = Date.now();
    // Listed without consumers (liveEntries): status is what an operator runs while a server is down.
    const members = readMembers(
      await liveEntries(jsm, await kvm.open(names.nodesBucket), names.nodesBucket, 'n.*'),
      at,
    );
    const leases = readLeases(
      await liveEntries(jsm, await kvm.open(names.leasesBucket), names.leasesBucket, 'v.*'),
      at,
    );
    const vshards = await inParallel(
      Array.from({ length: count }, (_, v) => v),
      (v) => readVshard(jsm, names, v, leases.get(v)),
    );
    const nodes = members.map((m) => ({
      ...m,
      vshards: vshards.filter((s) => s.owner === m.id).map((s) => s.vshard),
    }));
    const live = new Set(members.map((m) => m.id));
    const owners = new Set(vshards.flatMap((s) => (s.owner === undefined ? [] : [s.owner])));
    return {
      space: names.space,
      at,
      nodes,
      vshards,
      unowned: vshards.filter((s) => s.owner === undefined).map((s) => s.vshard),
      staleOwners: [...owners].filter((o) => !live.has(o)).sort(),
    };
  } finally {
    await nc.close();
  }
}

interface LeaseEntry {
  readonly node: string;
  readonly revision: number;
  readonly ageMs: number;
}

function readMembers(entries: readonly KvEntry[], at: number): Omit<NodeStatus, 'vshards'>[] {
  const out: Omit<NodeStatus, 'vshards'>[] = [];
  for (const entry of entries) {
    const info = memberOf(entry);
    if (info === undefined) continue;
    out.push({
      id: info.id,
      ...(info.http !== undefined && { http: info.http }),
      ...(info.warp !== undefined && { warp: info.warp }),
      startedAt: info.startedAt,
      heartbeatAgeMs: Math.max(0, at - entry.created.getTime()),
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Entries no node wrote (lease-entries.ts, memberOf) are left out, as the nodes leave them out. */
function readLeases(entries: readonly KvEntry[], at: number): Map<number, LeaseEntry> {
  const out = new Map<number, LeaseEntry>();
  for (const entry of entries) {
    const vshard = leaseVshard(entry.key);
    const node = leaseNode(entry);
    if (vshard === undefined || node === undefined) continue;
    out.set(vshard, {
      node,
      revision: entry.revision,
      ageMs: Math.max(0, at - entry.created.getTime()),
    });
  }
  return out;
}

async function readVshard(
  jsm: JetStreamManager,
  names: SpaceNames,
  vshard: number,
  lease: LeaseEntry | undefined,
): Promise<VshardStatus> {
  const [input, state] = await Promise.all([
    lastOf(jsm, names.inputStream, names.input(vshard)),
    lastOf(jsm, names.stateStream, names.state(vshard)),
  ]);
  // A last message no node wrote (see readLogEntry) tells nothing: no epoch, watermark 0.
  const entry = state === null ? undefined : (readLogEntry(state.data, state.header) ?? undefined);
  const watermark = entry?.w ?? 0;
  // A snapshot after a handoff (or every SNAPSHOT_EVERY commits) purges the input up to the
  // watermark, so an emptied subject reports no message although input arrived and applied.
  const inputLast = Math.max(input?.seq ?? 0, watermark);
  return {
    vshard,
    ...(lease !== undefined && { owner: lease.node, leaseRevision: lease.revision, leaseAgeMs: lease.ageMs }),
    ...(entry !== undefined && { epoch: entry.e }),
    ...(state !== null && entry === undefined && { unreadableHead: true }),
    inputLast,
    watermark,
    pending: inputLast > watermark ? await pendingAfter(jsm, names, vshard, watermark) : 0,
  };
}

/** Messages of the vshard's input subject after `watermark`, counted by the server for a throwaway consumer. */
async function pendingAfter(
  jsm: JetStreamManager,
  names: SpaceNames,
  vshard: number,
  watermark: number,
): Promise<number> {
  const info = await jsm.consumers.add(names.inputStream, {
    filter_subject: names.input(vshard),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: watermark + 1,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: 10_000_000_000, // 10 s: gone on its own should the delete below be lost
  });
  await jsm.consumers.delete(names.inputStream, info.name).catch(() => undefined);
  return info.num_pending;
}
