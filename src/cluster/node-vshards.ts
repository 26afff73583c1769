import type { ModelCatalog } from '../actors/catalog.js';
import type { Clock } from '../actors/clock.js';
import { ownerOf } from '../actors/ownership.js';
import type { PassivationOptions } from '../actors/passivation.js';
import type { RemoteMessage } from '../actors/shard-options.js';
import type { TwinError } from '../errors.js';
import { LocalShardHost, type ShardHost } from '../hosting/shard-host.js';
import { WorkerShardHost, type WorkerOptions } from '../hosting/worker-host.js';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import type { ShardKeyFn } from '../topology/index.js';
import { ChangelogStore } from './changelog-store.js';
import type { ClusterWorkerOptions } from './cluster-worker.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { LeaseView } from './lease-view.js';
import type { NatsLink } from './nats-link.js';
import type { NodeVshards } from './placement.js';
import { StateLog } from './state-log.js';
import { VShardExecutor } from './vshard-executor.js';
import { VshardCache } from './vshard-cache.js';
import { inputVshardOf } from './vshards.js';
import { WorkerVshards } from './worker-vshards.js';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The shard settings of a node's twins, and its worker threads (none: the main thread). */
export interface NodeShardSettings {
  readonly catalog: ModelCatalog;
  readonly clock: Clock;
  readonly log: TwinLogger;
  readonly dedupeWindow?: number;
  readonly stepBudget?: number;
  readonly passivation?: PassivationOptions;
  readonly journal?: boolean;
  readonly onOutput: (e: DerivedEvent) => void;
  readonly onTurnError: (e: TwinError, path: string) => void;
  readonly workers?: WorkerOptions;
  readonly shardKey?: ShardKeyFn;
}

/** What the cluster host needs from the node it runs on. */
export interface NodeVshardsWiring {
  readonly link: NatsLink;
  readonly options: ResolvedClusterOptions;
  readonly vshardOf: (path: string) => number;
  /** Whether this node's lease on the vshard under `epoch` is valid now (main thread). */
  readonly leaseValid: (vshard: number, epoch: number) => boolean;
  /** Cross-vshard messages of twins on the main thread. */
  readonly remote: (m: RemoteMessage) => void;
  /** Commands twins on workers send to other twins (they may run on another node). */
  readonly remoteCommand: (path: string, lane: string, value: unknown) => void;
  /** Told first when a vshard stops here (its links move before its twins stop). */
  readonly onStopping: (vshard: number) => void;
}

/** A node's own vshards: the host of their twins, their runner, and the lease view shared with workers. */
export interface BuiltVshards {
  readonly host: ShardHost;
  readonly vshards: NodeVshards;
  /** Set with worker threads: the leases as the main thread holds them, shared with the workers. */
  readonly view?: LeaseView;
}

/**
 * Builds where a node runs its vshards. Without workers: one shard on the main thread over
 * a {@link ChangelogStore}, run by a {@link VShardExecutor}. With workers: vshard `v` on
 * worker `v % workers`, each worker running its own executor, store and NATS connection
 * (cluster-worker.ts), the main thread routing twins by the same rule and sharing its
 * leases through a {@link LeaseView}.
 */
export function buildNodeVshards(settings: NodeShardSettings, wiring: NodeVshardsWiring): BuiltVshards {
  const { catalog, clock, log } = settings;
  const { link, options, vshardOf } = wiring;
  const shard = {
    stepBudget: settings.stepBudget,
    dedupeWindow: settings.dedupeWindow,
    passivation: settings.passivation,
    journal: settings.journal,
  };
  const workers = settings.workers;
  if (workers !== undefined && workers.count > 0) {
    const view = new LeaseView(new SharedArrayBuffer(LeaseView.bytes(options.vshards)), options.vshards);
    const extension: ClusterWorkerOptions = { cluster: options, leases: view.buffer };
    let vshards: WorkerVshards | undefined = undefined;
    const host = new WorkerShardHost(
      {
        ...shard,
        workers: {
          ...workers,
          extension: { module: new URL(`./cluster-worker${EXT}`, import.meta.url).href, options: extension },
        },
        shardKey: settings.shardKey,
        placement: (at) => ownerOf(catalog, at, options.vshards) % workers.count,
        onRemoteCommand: wiring.remoteCommand,
        onRestart: (index) => vshards?.restarted(index),
      },
      catalog,
      clock,
      log,
      settings.onOutput,
      settings.onTurnError,
    );
    vshards = new WorkerVshards(host, workers.count, vshardOf, log, wiring.onStopping);
    return { host, vshards, view };
  }
  const store = new ChangelogStore(
    new StateLog(link.js, link.jsm, link.names),
    link.jsm,
    link.names,
    vshardOf,
    wiring.leaseValid,
    options.dataDir === undefined ? undefined : VshardCache.open(options.dataDir, log),
  );
  let executor: VShardExecutor | undefined = undefined;
  const host = new LocalShardHost(
    {
      ...shard,
      catalog,
      store,
      clock,
      log,
      owns: (path) => executor?.owns(path) ?? false,
      onRemote: wiring.remote,
      // A turn whose commit the state log refuses (this node lost the vshard) sends no join or command.
      remoteAfterCommit: true,
      onOutput: settings.onOutput,
      onTurnError: settings.onTurnError,
    },
    store,
  );
  executor = new VShardExecutor(
    host,
    store,
    link.js,
    link.jsm,
    link.names,
    vshardOf,
    (path) => inputVshardOf(catalog, path, options.vshards),
    log,
    wiring.onStopping,
  );
  return { host, vshards: executor };
}
