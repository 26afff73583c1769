import type { FastifyInstance } from 'fastify';
import type { LaneKind } from '../../lanes/events.js';
import type { ValueSpec, WindowSpec } from '../../model/lane-specs.js';
import type { Runtime } from '../../runtime/runtime.js';

/** One lane of a model as `GET /models` describes it. */
export interface LaneDescription {
  readonly name: string;
  readonly kind: LaneKind;
  /** Value lanes: network clients may set it with a command (`value(x, { writable: true })`). */
  readonly writable?: boolean;
  /** Window lanes: tumbling, hopping or sliding, and the window size in ms. */
  readonly window?: { readonly kind: string; readonly size: number };
}

/** One model as `GET /models` describes it. */
export interface ModelDescription {
  readonly name: string;
  /** Its route pattern, e.g. `/org/:org/site/:site`. */
  readonly route: string;
  readonly lanes: readonly LaneDescription[];
}

/**
 * `GET /models`: the models this node serves, with their routes and each lane's kind, so a
 * generic client (the dashboard) knows which lanes are tables, charts or commands without
 * the model's code. It names no twin, so any authenticated caller may read it.
 *
 * @example
 * ```ts
 * const { models } = await (await fetch(`${node.url}/models`)).json();
 * models.find((m) => m.name === 'unit').lanes; // [{ name: 'roomTemperature', kind: 'join' }, …, { name: 'secure', kind: 'command' }]
 * ```
 */
export function modelRoutes(rt: Runtime) {
  const described: { models: ModelDescription[] } = { models: rt.catalog.models.map(describe) };
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/models', async () => described);
  };
}

function describe(model: Runtime['catalog']['models'][number]): ModelDescription {
  const lanes = Object.entries(model.def.lanes).map(([name, spec]): LaneDescription => {
    if (spec.kind === 'value')
      return { name, kind: spec.kind, writable: (spec as ValueSpec<unknown>).writable === true };
    if (spec.kind === 'window') {
      const { shape } = spec as WindowSpec;
      return { name, kind: spec.kind, window: { kind: shape.kind, size: shape.size } };
    }
    return { name, kind: spec.kind };
  });
  return { name: model.name, route: model.route.text, lanes };
}
