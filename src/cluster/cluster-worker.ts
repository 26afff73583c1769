/**
 * The cluster's part of a shard worker (loaded by URL as the worker's extension, see
 * hosting/worker-extension.ts): the worker runs the vshards `v` with `v % workers` equal to
 * its index that the main thread tells it to start. It has its own NATS connection for
 * their input consumers and state logs, acts for a vshard only while the lease the main
 * thread holds for it is valid ({@link LeaseView}, shared memory), and publishes joins to
 * parents in other vshards itself.
 */
import type { RemoteMessage } from '../actors/shard-options.js';
import type { LocalShardHost } from '../hosting/shard-host.js';
import type { WorkerExtension, WorkerExtensionContext } from '../hosting/worker-extension.js';
import { ChangelogStore } from './changelog-store.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { JoinPublisher } from './join-publisher.js';
import { LeaseView } from './lease-view.js';
import { NatsLink } from './nats-link.js';
import type { RestoredFrom, StopReason } from './placement.js';
import { StateLog } from './state-log.js';
import { VShardExecutor } from './vshard-executor.js';
import { VshardCache } from './vshard-cache.js';
import { inputVshardOf, vshardOf } from './vshards.js';

/** What the main thread gives each worker. */
export interface ClusterWorkerOptions {
  readonly cluster: ResolvedClusterOptions;
  /** The {@link LeaseView}'s memory. */
  readonly leases: SharedArrayBuffer;
}

/** A control message from the main thread (see WorkerVshards). */
export type VshardControl =
  | { readonly op: 'start'; readonly vshard: number; readonly epoch: number }
  | { readonly op: 'stop'; readonly vshard: number; readonly epoch: number; readonly reason: StopReason };

export async function createWorkerExtension(
  options: unknown,
  context: WorkerExtensionContext,
): Promise<WorkerExtension> {
  const { cluster, leases } = options as ClusterWorkerOptions;
  const { catalog, log, index } = context;
  const view = new LeaseView(leases, cluster.vshards);
  const vshard = (path: string): number => vshardOf(catalog, path, cluster.vshards);
  const link = await NatsLink.open(cluster);
  const names = link.names;
  const store = new ChangelogStore(
    new StateLog(link.js, link.jsm, names),
    link.jsm,
    names,
    vshard,
    (v, epoch) => view.valid(v, epoch),
    cluster.dataDir === undefined ? undefined : VshardCache.open(cluster.dataDir, log),
  );
  const joins = new JoinPublisher(
    link.js,
    names,
    vshard,
    `${cluster.nodeId}.w${index}.${Date.now().toString(36)}`,
    log,
    (v) => view.held(v),
  );
  let executor: VShardExecutor | undefined;
  return {
    store,
    // A turn whose commit the state log refuses (this node lost the vshard) sends no join or command.
    remoteAfterCommit: true,
    owns: (path) => executor?.owns(path) ?? false,
    remote(m: RemoteMessage): boolean {
      if (m.kind !== 'join') return false; // a command to another twin: the main thread finds its owner
      joins.publish(m.parent, m.lane, m.child, m.value);
      return true;
    },
    attach(host: LocalShardHost): void {
      executor = new VShardExecutor(
        host,
        store,
        link.js,
        link.jsm,
        names,
        vshard,
        (path) => inputVshardOf(catalog, path, cluster.vshards),
        log,
      );
    },
    /** A start answers where the vshard's state came from (its log, or the local copy). */
    async control(message: unknown): Promise<RestoredFrom | null> {
      const m = message as VshardControl;
      if (m.op === 'start') return executor!.start(m.vshard, m.epoch);
      await executor!.stop(m.vshard, m.epoch, m.reason);
      return null;
    },
    close: () => link.close(),
  };
}
