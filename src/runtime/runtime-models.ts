import type { ModelSet } from '../model/model-set.js';
import { isUpToShardKey } from '../model/model-set.js';
import type { TwinModel } from '../model/twin-model.js';
import { TwinError } from '../errors.js';
import type { WorkerOptions } from '../hosting/worker-host.js';
import type { ModelSource } from '../hosting/worker-protocol.js';
import type { ShardKeyFn } from '../topology/index.js';

/** Worker options of a runtime: `models` may be left out when a model set says where workers import it from. */
export type RuntimeWorkerOptions = Omit<WorkerOptions, 'models'> & { models?: ModelSource };

/** The model options of a runtime: a model set, or models (and a module for workers) given one by one. */
export interface ModelChoice {
  models?: readonly TwinModel<any>[];
  modelSet?: ModelSet<any>;
  shardKey?: ShardKeyFn;
  workers?: RuntimeWorkerOptions;
}

/** What the runtime runs: models, shard key and (with workers) where the workers import the same models. */
export interface ResolvedModels {
  models: readonly TwinModel<any>[];
  shardKey: ShardKeyFn | undefined;
  workers: WorkerOptions | undefined;
}

/**
 * Resolves a runtime's model options: a model set gives the models, its shard key (unless
 * `shardKey` is set) and the workers' model source (its module); `models` plus
 * `workers.models` work as before. One of `models` and `modelSet` is required.
 */
export function resolveModels(o: ModelChoice): ResolvedModels {
  const source = workerSource(o);
  const set = o.modelSet;
  // A key by shardKeyUpTo is the runtime's (it crosses threads by name); other keys are in set.models().
  const shardKey = o.shardKey ?? (set && isUpToShardKey(set.shardKey) ? set.shardKey : undefined);
  const models = set ? set.models() : o.models!;
  return { models, shardKey, workers: source ? { ...o.workers!, models: source } : undefined };
}

/**
 * Checks the model options without building anything: startNode and runReplay call it
 * before they open a store, so a bad choice leaves nothing behind. Returns the workers'
 * model source (undefined without workers).
 */
export function workerSource(o: ModelChoice): ModelSource | undefined {
  if (o.models && o.modelSet) throw config('give `models` or `modelSet`, not both');
  if (!o.models && !o.modelSet) throw config('a runtime needs `modelSet` (or `models`)');
  if ((o.workers?.count ?? 0) <= 0) return undefined;
  const source = o.workers!.models ?? o.modelSet?.ref();
  if (!source)
    throw config(
      'worker threads import the models themselves: pass a `modelSet` defined with `module: import.meta.url` (or `workers.models`)',
    );
  return source;
}

function config(message: string): TwinError {
  return new TwinError('TWIN_CONFIG_INVALID', message);
}
