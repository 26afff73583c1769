import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { TwinError } from '../errors.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { liveEntries } from './kv-listing.js';
import { natsAuthOptions, natsConnectError } from './nats-auth.js';
import { claimSpaceShape } from './space-shape.js';
import { SpaceNames } from './space-names.js';

/** How long a node waits for JetStream at start (a fresh cluster elects its meta leader first). */
const JETSTREAM_READY_MS = 30_000;

/**
 * One node's connection to the cluster's NATS servers, with the space's buckets:
 * `<space>-nodes` (membership: one key per live node, expiring after 3 missed heartbeats)
 * and `<space>-leases` (one key per owned vshard, expiring `leaseMs` after its last
 * renewal), and its streams: `<space>-in` (every vshard's input) and `<space>-state`
 * (every vshard's state log), created by the first node, which also records the space's
 * vshard count (see space-shape.ts); a node started with another count is refused. The client reconnects forever
 * and fails over between the given servers.
 */
export class NatsLink {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly nodes: KV,
    readonly leases: KV,
    readonly names: SpaceNames,
  ) {}

  static async open(options: ResolvedClusterOptions): Promise<NatsLink> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: [...options.servers],
        ...natsAuthOptions(options.auth),
        name: `twinflow ${options.nodeId}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 2_000,
        maxPingOut: 2,
      });
    } catch (err) {
      throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', natsConnectError(options.servers, err as Error, options.auth));
    }
    try {
      const jsm = await readyJetStream(nc);
      const names = new SpaceNames(options.space);
      // A cluster that just formed may time out the first replicated creations: retried.
      const kvm = new Kvm(nc);
      const { nodes, leases } = await untilReady(async () => {
        const bucket = (name: string, ttl: number): Promise<KV> =>
          kvm.create(name, { ttl, history: 1, replicas: options.replicas });
        const made = {
          nodes: await bucket(names.nodesBucket, options.heartbeatMs * 3),
          leases: await bucket(names.leasesBucket, options.leaseMs),
        };
        await ensureStream(jsm, names.inputStream, names.inputWildcard(), options.replicas);
        await ensureStream(jsm, names.stateStream, names.stateWildcard(), options.replicas);
        return made;
      });
      // A count that differs from the space's is a TwinError: final, not retried.
      await untilReady(() =>
        claimSpaceShape(kvm, names.shapeBucket, options.space, { vshards: options.vshards }, options.replicas),
      );
      return new NatsLink(nc, jetstream(nc), jsm, nodes, leases, names);
    } catch (err) {
      await nc.close();
      throw err instanceof TwinError
        ? err
        : new TwinError('TWIN_CLUSTER_UNAVAILABLE', `NATS JetStream is not usable: ${(err as Error).message}`);
    }
  }

  /** The live membership entries (see {@link liveEntries}: no consumer is made). */
  members(): Promise<KvEntry[]> {
    return liveEntries(this.jsm, this.nodes, this.names.nodesBucket, 'n.*');
  }

  /** The live lease entries (see {@link liveEntries}). */
  leaseEntries(): Promise<KvEntry[]> {
    return liveEntries(this.jsm, this.leases, this.names.leasesBucket, 'v.*');
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** A JetStream manager once the servers answer JetStream requests (a fresh cluster needs a moment). */
function readyJetStream(nc: NatsConnection): Promise<JetStreamManager> {
  return untilReady(() => jetstreamManager(nc, { timeout: 2_000 }));
}

/**
 * `attempt` until it succeeds, for at most {@link JETSTREAM_READY_MS} (timeouts of a forming
 * cluster). A TwinError is an answer, not a timeout: thrown at once.
 */
async function untilReady<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + JETSTREAM_READY_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof TwinError) throw err;
      if (Date.now() > deadline)
        throw new TwinError(
          'TWIN_CLUSTER_UNAVAILABLE',
          `NATS answers but JetStream did not become ready in ${JETSTREAM_READY_MS / 1000} s (is it enabled?): ${(err as Error).message}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Creates the stream if it does not exist (every node calls this; the first one creates it). */
async function ensureStream(jsm: JetStreamManager, name: string, subject: string, replicas: number): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  try {
    // duplicate_window: a front's retry of a publish (same msgID) within 2 min is stored once.
    await jsm.streams.add({ name, subjects: [subject], num_replicas: replicas, duplicate_window: 120_000_000_000 });
  } catch (err) {
    if (!/already in use|exists/i.test((err as Error).message)) throw err;
  }
}
