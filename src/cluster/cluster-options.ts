import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TwinError } from '../errors.js';
import { checkNatsAuth, type NatsAuth } from './nats-auth.js';

/**
 * How a node joins a cluster (`--cluster nats://…` / `startNode({ cluster })`). Every node
 * of one twin space must agree on `space` and `vshards`; timings may differ per node but
 * should not.
 */
export interface ClusterOptions {
  /** NATS server URLs (any of the cluster's servers; the client fails over between them). */
  readonly servers: readonly string[];
  /** How to authenticate to the servers and check them (user, token or nkey; TLS): see nats-auth.ts. */
  readonly auth?: NatsAuth;
  /** Name of the twin space: the prefix of every bucket, stream and subject (default `twinflow`). */
  readonly space?: string;
  /** This node's id, unique in the space (default: host name + random suffix). */
  readonly nodeId?: string;
  /** Virtual shards the twin space is cut into (default 256); fixed for the life of a space. */
  readonly vshards?: number;
  /** Lease time to live in ms (default 5 000): how long a dead node's vshards stay unowned. */
  readonly leaseMs?: number;
  /** How long the live-node view must stay unchanged before vshards move (default 2 000 ms). */
  readonly stableMs?: number;
  /**
   * Heartbeat period in ms, also how often leases are renewed (default 1 000, at most a
   * fifth of `leaseMs`); a node is gone after 3 missed heartbeats.
   */
  readonly heartbeatMs?: number;
  /** Lease acquisitions and releases in flight at once per node (default 16). */
  readonly maxMoves?: number;
  /** JetStream replicas of the space's buckets and streams (default 1; 3 on a 3-server cluster). */
  readonly replicas?: number;
  /** File to append (vshard, epoch, start, end) ownership intervals to, as JSON lines (tests, audits). */
  readonly ownershipLog?: string;
  /**
   * Directory of this node's local copy of its vshards' state (LMDB, in `<dataDir>/cluster`):
   * a vshard this node takes again is restored from it instead of its log when nobody
   * appended to the log since (a restarted node, a whole cluster restarted). JetStream stays
   * the truth. Unset: every restore reads the log. One node per directory.
   */
  readonly dataDir?: string;
}

export type ResolvedClusterOptions = Required<Omit<ClusterOptions, 'ownershipLog' | 'dataDir' | 'auth'>> & {
  readonly auth?: NatsAuth;
  readonly ownershipLog?: string;
  readonly dataDir?: string;
};

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Defaults applied and every option checked (TWIN_CONFIG_INVALID naming the option). */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  const leaseMs = options.leaseMs ?? 5_000;
  const resolved = {
    servers: options.servers,
    auth: options.auth,
    space: options.space ?? 'twinflow',
    nodeId:
      options.nodeId ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 40)}-${randomBytes(3).toString('hex')}`,
    vshards: options.vshards ?? 256,
    leaseMs,
    stableMs: options.stableMs ?? 2_000,
    heartbeatMs: options.heartbeatMs ?? Math.min(1_000, Math.floor(leaseMs / 5)),
    maxMoves: options.maxMoves ?? 16,
    replicas: options.replicas ?? 1,
    ownershipLog: options.ownershipLog,
    dataDir: options.dataDir,
  };
  const bad = (what: string): never => {
    throw new TwinError('TWIN_CONFIG_INVALID', `cluster: ${what}`);
  };
  if (resolved.servers.length === 0) bad('no NATS server given');
  checkNatsAuth(resolved.auth, resolved.servers);
  if (!NAME.test(resolved.space)) bad(`space "${resolved.space}" must be 1-64 of A-Z a-z 0-9 _ -`);
  if (!NAME.test(resolved.nodeId)) bad(`node id "${resolved.nodeId}" must be 1-64 of A-Z a-z 0-9 _ -`);
  if (!Number.isInteger(resolved.vshards) || resolved.vshards < 1 || resolved.vshards > 4096)
    bad(`vshards must be an integer from 1 to 4096, got ${resolved.vshards}`);
  if (!(leaseMs >= 1_000)) bad(`leaseMs must be at least 1000, got ${leaseMs}`);
  if (!(resolved.heartbeatMs >= 50 && resolved.heartbeatMs * 4 <= leaseMs))
    bad(`heartbeatMs must be at least 50 and at most a quarter of leaseMs, got ${resolved.heartbeatMs}`);
  if (![1, 3, 5].includes(resolved.replicas)) bad(`replicas must be 1, 3 or 5, got ${resolved.replicas}`);
  if (!(resolved.maxMoves >= 1)) bad(`maxMoves must be at least 1, got ${resolved.maxMoves}`);
  return resolved;
}

/**
 * The safety margin of a lease: a node stops work on a vshard this long before the server
 * could let its lease expire, measured from when it sent the renewal. Covers a clock that
 * runs a little fast and the time between a check and the effect it guards.
 */
export function leaseMargin(leaseMs: number): number {
  return Math.max(500, Math.floor(leaseMs / 5));
}
