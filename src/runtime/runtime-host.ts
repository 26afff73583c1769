import type { ModelCatalog } from '../actors/catalog.js';
import type { Clock } from '../actors/clock.js';
import { ClusterShardHost } from '../cluster/cluster-host.js';
import type { TwinError } from '../errors.js';
import { LocalShardHost, type ShardHost } from '../hosting/shard-host.js';
import { WorkerShardHost } from '../hosting/worker-host.js';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import { MemoryStateStore } from '../store/memory-store.js';
import type { ResolvedModels } from './runtime-models.js';
import type { RuntimeOptions } from './runtime-options.js';

/** What every host hands back to its runtime. */
export interface HostCallbacks {
  /** A derived event of a twin this runtime runs (this thread, its workers, its vshards). */
  readonly onOutput: (e: DerivedEvent) => void;
  /** A derived event of a twin another node of the space runs (cluster mode only). */
  readonly onSpaceOutput: (e: DerivedEvent) => void;
  readonly onTurnError: (e: TwinError, path: string) => void;
}

/**
 * Where a runtime's twins run: its vshards of a twin space (`cluster`, on this thread or
 * its workers), worker threads (`workers`), or one shard on this thread over `store`
 * (default: in memory). The runtime's API is the same over each.
 */
export function hostFor(
  options: RuntimeOptions,
  models: ResolvedModels,
  env: { readonly catalog: ModelCatalog; readonly clock: Clock; readonly log: TwinLogger },
  callbacks: HostCallbacks,
): ShardHost {
  const { shardKey, workers } = models;
  const { onOutput, onTurnError } = callbacks;
  // The shard settings every in-process host takes (the worker host reads them from `options`).
  const shard = {
    ...env,
    stepBudget: options.stepBudget,
    dedupeWindow: options.dedupeWindow,
    passivation: options.passivation,
    journal: options.journal,
    onOutput,
    onTurnError,
  };
  if (options.cluster)
    // With workers, vshard v runs on worker v % count (docs/cluster.md).
    return new ClusterShardHost({
      ...shard,
      workers,
      shardKey,
      cluster: options.cluster,
      advertise: options.cluster.advertise,
      onSpaceOutput: callbacks.onSpaceOutput,
    });
  if (workers)
    return new WorkerShardHost(
      { ...options, shardKey, workers },
      env.catalog,
      env.clock,
      env.log,
      onOutput,
      onTurnError,
    );
  const store = options.store ?? new MemoryStateStore();
  return new LocalShardHost({ ...shard, store }, store);
}
