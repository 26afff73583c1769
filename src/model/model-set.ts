import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TwinError } from '../errors.js';
import type { ShardKeyFn } from '../topology/index.js';
import type { DerivedEvent, TwinEvent, TwinModel } from './twin-model.js';

/** What a model-set parameter can be: `--param name=value` reads the value by the default's type. */
export type ModelParamValue = number | string | boolean;

/** A model set's parameters with their values (or defaults). */
export type ModelParams = Record<string, ModelParamValue>;

/** The constraint on a parameter type: every property a {@link ModelParamValue} (interfaces welcome). */
export type ParamShape<P> = { [K in keyof P]: ModelParamValue };

/** A derived event that only one of two runs emitted (what a what-if explainer is asked about). */
export interface ExplainedChange {
  readonly side: 'baseline' | 'whatIf';
  readonly event: DerivedEvent;
}

/** Says why a derived event is in one run only, or undefined when it cannot tell. */
export type ChangeExplainer = (change: ExplainedChange) => string | undefined;

/** The constraint on a fleet shape: every dimension a count. */
export type FleetShape<S> = { [K in keyof S]: number };

/** One run of a fleet generator: the seed, the shape (every dimension, defaults filled in) and the pacing. */
export interface FleetRun<S extends FleetShape<S> = Record<string, number>> {
  /** The same seed and options must give the same events, byte for byte. */
  readonly seed: number;
  readonly shape: Readonly<S>;
  /** Stop after this many events (default: the generator's, e.g. one day). */
  readonly events?: number;
  /** Every source reports once per interval (ms; default: the generator's). */
  readonly intervalMs?: number;
  /** Event time of the first reading (epoch ms; default: the generator's). */
  readonly start?: number;
}

/**
 * A seeded synthetic fleet for `twinflow generate`: each shape dimension is a flag
 * (`--levels 3`), with its default here.
 */
export interface FleetGenerator<S extends FleetShape<S> = Record<string, number>> {
  /** Dimensions of the fleet and their defaults; `twinflow generate --<name> <n>` sets one. */
  readonly shape: Readonly<S>;
  /** How many event sources (devices) a shape has; the CLI reports it. */
  sources(shape: Readonly<S>): number;
  /** The events, in time order, in chunks (e.g. one per reporting interval). */
  generate(run: FleetRun<S>): Iterable<readonly TwinEvent[]>;
}

/** What {@link defineModelSet} takes. */
export interface ModelSetDef<P extends ParamShape<P>> {
  /** Short name for logs and messages (`building`, `parking-garage`). */
  name: string;
  /**
   * The URL of the module that exports this set: pass `import.meta.url`. Worker threads
   * import the set from it (they cannot receive functions); without it the set runs on the
   * calling thread only, unless it was loaded by module reference (the CLI's `--models`).
   */
  module?: string;
  /** Tunable parameters and their defaults; `--param name=value` and {@link ModelSet.with} override them. */
  params?: P;
  /** The models, built from the parameters (called again in every worker thread). */
  models: readonly TwinModel<any>[] | ((params: Readonly<P>) => readonly TwinModel<any>[]);
  /**
   * Which twins share a shard (default: the runtime's, up to the building). Keep a twin and
   * the parents it aggregates into on one shard: `shardKeyUpTo('garage')`. Keys made by
   * `shardKeyUpTo` also let subtree queries go to one shard; any other function is applied
   * to every model that sets none of its own.
   */
  shardKey?: ShardKeyFn;
  /** A synthetic fleet for `twinflow generate`. */
  fleet?: FleetGenerator<any>;
  /** Why a derived event is in one what-if run only, given both runs' parameters (`twinflow whatif`). */
  explain?: (baseline: Readonly<P>, whatIf: Readonly<P>) => ChangeExplainer;
}

/** Where worker threads find a model set: they import `module` and apply `params` (see {@link ModelSet.ref}). */
export interface ModelSetRef {
  readonly kind: 'modelSet';
  /** URL of the module (`file:` for local files). */
  readonly module: string;
  /** The export holding the set (or a function returning it); absent: the exported set named `name`. */
  readonly export?: string;
  readonly name: string;
  /** Parameter overrides (structured-cloneable). */
  readonly params: Readonly<Partial<ModelParams>>;
}

/**
 * A set of twin models served together, with what the runtime and the CLI need to know
 * about them. Made by {@link defineModelSet}; immutable ({@link ModelSet.with} returns a copy).
 */
export interface ModelSet<P extends ParamShape<P> = ModelParams> {
  readonly kind: 'modelSet';
  readonly name: string;
  /** The module exporting the set, when known. */
  readonly module: string | undefined;
  /** The export holding the set, when loaded by reference. */
  readonly exportName: string | undefined;
  /** Every parameter with its default. */
  readonly defaults: Readonly<P>;
  /** The parameters this set builds its models with (defaults plus overrides). */
  readonly params: Readonly<P>;
  /** The overrides given to {@link ModelSet.with} (what travels to worker threads). */
  readonly overrides: Readonly<Partial<P>>;
  readonly shardKey: ShardKeyFn | undefined;
  readonly fleet: FleetGenerator<any> | undefined;
  /** The explainer for two runs' parameters, or undefined when the set has none. */
  explainer(baseline: Readonly<P>, whatIf: Readonly<P>): ChangeExplainer | undefined;
  /** Fresh model instances built from {@link ModelSet.params}. */
  models(): TwinModel<any>[];
  /** The same set with some parameters changed; throws TWIN_CONFIG_INVALID for an unknown name or a wrong type. */
  with(overrides: Partial<P>): ModelSet<P>;
  /** The same set, known to be exported from `module` (as `exportName`): what a loader records. */
  at(module: string, exportName?: string): ModelSet<P>;
  /** Where worker threads import this set from; throws TWIN_CONFIG_INVALID when the module is unknown. */
  ref(): ModelSetRef;
}

/**
 * Defines a model set: the models, their parameters, their shard key and the CLI's extras.
 * Export it from a module and serve it with `twinflow serve --models ./that-module.js`,
 * or pass it to `startNode({ modelSet })` / `createRuntime({ modelSet })`.
 *
 * @example
 * ```ts
 * export const modelSet = defineModelSet({
 *   name: 'parking-garage',
 *   module: import.meta.url,
 *   params: { staleAfter: 15 * 60_000, reserved: 0 },
 *   models: (p) => [garageModel(p.reserved), levelModel(), spotModel(p.staleAfter)],
 *   shardKey: shardKeyUpTo('garage'),
 * });
 * ```
 */
export function defineModelSet<P extends ParamShape<P> = Record<never, never>>(def: ModelSetDef<P>): ModelSet<P> {
  if (!def || typeof def.name !== 'string' || def.name === '') throw invalid('?', 'a model set needs a name');
  if (typeof def.models !== 'function' && !Array.isArray(def.models))
    throw invalid(def.name, '`models` must be an array of models or a function returning one');
  for (const [k, v] of Object.entries(def.params ?? {})) {
    if (!isParamValue(v))
      throw invalid(def.name, `parameter "${k}" must default to a finite number, a string or a boolean`);
  }
  if (def.fleet) checkFleet(def.name, def.fleet);
  return new DefinedModelSet<P>(def, {} as Partial<P>, moduleUrl(def.name, def.module), undefined);
}

/**
 * A set's module as the URL worker threads import: `import.meta.url` or another URL as it is,
 * an absolute file path as its `file:` URL. Anything else is refused here, at definition,
 * rather than by every worker thread failing to start.
 */
function moduleUrl(name: string, module: string | undefined): string | undefined {
  if (module === undefined) return undefined;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (URL.canParse(module)) return new URL(module).href;
  throw invalid(
    name,
    `\`module\` must be import.meta.url, a file: URL or an absolute path, got ${JSON.stringify(module)}`,
  );
}

/** True for a model set made by {@link defineModelSet} (in this or another copy of twinflow). */
export function isModelSet(value: unknown): value is ModelSet {
  const v = value as ModelSet | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.kind === 'modelSet' &&
    typeof v.models === 'function' &&
    typeof v.with === 'function' &&
    typeof v.ref === 'function'
  );
}

/** True when a shard key crosses threads as its segment name (made by `shardKeyUpTo`). */
export function isUpToShardKey(key: ShardKeyFn | undefined): boolean {
  return typeof (key as { upTo?: unknown } | undefined)?.upTo === 'string';
}

/** Flags of `twinflow generate` itself: a fleet dimension cannot take one of these names. */
const GENERATE_FLAGS = [
  'seed',
  'events',
  'interval',
  'start',
  'out',
  'mqtt',
  'rate',
  'qos',
  'prefix',
  'models',
  'help',
];

function checkFleet(name: string, fleet: FleetGenerator<any>): void {
  if (typeof fleet.generate !== 'function' || typeof fleet.sources !== 'function' || typeof fleet.shape !== 'object') {
    throw invalid(name, '`fleet` needs shape, sources() and generate()');
  }
  for (const [k, v] of Object.entries(fleet.shape as Record<string, unknown>)) {
    if (GENERATE_FLAGS.includes(k)) throw invalid(name, `fleet dimension "${k}" clashes with the generate flag --${k}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw invalid(name, `fleet dimension "${k}" must default to a non-negative integer`);
  }
}

/** True for what defineTwin returns (in this or another copy of twinflow: its shape, not its class). */
function isTwinModel(m: unknown): m is TwinModel<any> {
  const t = m as TwinModel | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.name === 'string' &&
    typeof t.def === 'object' &&
    t.def !== null &&
    typeof t.route === 'object' &&
    t.route !== null &&
    Array.isArray(t.laneNames) &&
    Array.isArray(t.laneInfos)
  );
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return v === undefined ? 'undefined' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isParamValue(v: unknown): v is ModelParamValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function invalid(set: string, reason: string): TwinError {
  return new TwinError('TWIN_CONFIG_INVALID', `model set "${set}": ${reason}`, { modelSet: set, reason });
}

class DefinedModelSet<P extends ParamShape<P>> implements ModelSet<P> {
  readonly kind = 'modelSet' as const;
  readonly params: Readonly<P>;

  constructor(
    private readonly def: ModelSetDef<P>,
    readonly overrides: Readonly<Partial<P>>,
    readonly module: string | undefined,
    readonly exportName: string | undefined,
  ) {
    this.params = Object.freeze({ ...this.defaults, ...overrides });
  }

  get name(): string {
    return this.def.name;
  }

  get defaults(): Readonly<P> {
    return (this.def.params ?? {}) as P;
  }

  get shardKey(): ShardKeyFn | undefined {
    return this.def.shardKey;
  }

  get fleet(): FleetGenerator<any> | undefined {
    return this.def.fleet;
  }

  explainer(baseline: Readonly<P>, whatIf: Readonly<P>): ChangeExplainer | undefined {
    return this.def.explain?.(baseline, whatIf);
  }

  models(): TwinModel<any>[] {
    let built: unknown;
    try {
      built = typeof this.def.models === 'function' ? this.def.models(this.params) : this.def.models;
    } catch (err) {
      // A model's own TWIN_MODEL_INVALID names the model already; anything else gets the set's name.
      if (err instanceof TwinError) throw err;
      throw new TwinError(
        'TWIN_CONFIG_INVALID',
        `model set "${this.name}": \`models\` threw: ${(err as Error)?.message ?? String(err)}`,
        { modelSet: this.name },
        { cause: err },
      );
    }
    if (!Array.isArray(built)) throw invalid(this.name, '`models` returned no array of models');
    // Anything else in the array failed later, deep in the catalog, as a TypeError naming no model
    // ("Cannot read properties of undefined (reading 'depth')").
    built.forEach((m: unknown, i) => {
      if (!isTwinModel(m))
        throw invalid(this.name, `\`models\` item ${i} is ${describeValue(m)}, not a model made by defineTwin`);
    });
    const key = this.def.shardKey;
    // A key made by shardKeyUpTo goes to the runtime (and crosses threads by name); any
    // other function reaches the workers inside the models, which they build themselves.
    if (key === undefined || isUpToShardKey(key)) return [...built];
    return built.map((m: TwinModel<any>) => (m.def.shardKey ? m : { ...m, def: { ...m.def, shardKey: key } }));
  }

  with(overrides: Partial<P>): ModelSet<P> {
    const defaults = this.defaults as ModelParams;
    for (const [k, v] of Object.entries(overrides)) {
      if (!Object.hasOwn(defaults, k)) {
        const known = Object.keys(defaults);
        throw invalid(
          this.name,
          `unknown parameter "${k}" (${known.length ? `parameters: ${known.join(', ')}` : 'it has no parameters'})`,
        );
      }
      if (typeof v !== typeof defaults[k] || !isParamValue(v))
        throw invalid(this.name, `parameter "${k}" must be a ${typeof defaults[k]}, got ${JSON.stringify(v)}`);
    }
    return new DefinedModelSet<P>(this.def, { ...this.overrides, ...overrides }, this.module, this.exportName);
  }

  at(module: string, exportName?: string): ModelSet<P> {
    return new DefinedModelSet<P>(this.def, this.overrides, moduleUrl(this.name, module), exportName);
  }

  ref(): ModelSetRef {
    if (this.module === undefined) {
      throw invalid(
        this.name,
        'worker threads import the set from its module: give defineModelSet `module: import.meta.url`',
      );
    }
    return {
      kind: 'modelSet',
      module: this.module,
      ...(this.exportName !== undefined && { export: this.exportName }),
      name: this.name,
      params: { ...this.overrides },
    };
  }
}
