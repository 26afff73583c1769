import { loadModelSet } from '../model/model-set-import.js';
import type { TwinModel } from '../model/twin-model.js';
import type { ModelSetRef } from '../model/model-set.js';
import type { ModelSource } from './worker-protocol.js';

/**
 * The models a worker runs, built in the worker (functions cannot cross threads): the
 * model set its module exports, with the main thread's parameter overrides, or the
 * models a factory function of a module returns.
 */
export async function importModels(source: ModelSource): Promise<TwinModel<any>[]> {
  if (isModelSetRef(source)) return (await loadModelSet(source)).with(source.params).models();
  const factory = (await import(source.module))[source.export] as (
    ...args: unknown[]
  ) => TwinModel<any>[] | Promise<TwinModel<any>[]>;
  return factory(...(source.args ?? []));
}

function isModelSetRef(source: ModelSource): source is ModelSetRef {
  return (source as ModelSetRef).kind === 'modelSet';
}
