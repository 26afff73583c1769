import type { LaneInfo } from '../lanes/lane.js';
import type { CommandLane } from '../lanes/signal-lanes.js';
import type { WindowResult } from '../lanes/window-lane.js';
import type {
  CommandSpec,
  DemandSpec,
  JoinSpec,
  LaneOf,
  LaneSpec,
  MapSpec,
  ValueSpec,
  WindowSpec,
} from './lane-specs.js';
import type { RouteParams, ShardKeyFn } from '../topology/index.js';
import { RoutePattern } from '../topology/index.js';
import { TwinError } from '../errors.js';

/** A CloudEvent-shaped event addressed to one twin (`subject` is its path). `time` is epoch ms. */
export interface TwinEvent<D = unknown> {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: number;
  readonly data: D;
}

/** A derived event a twin emitted (evacuation, hvac.adjust, …), CloudEvent-shaped. */
export interface DerivedEvent<D = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  /** RFC 3339, from the twin's clock. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: D;
}

export type LaneSpecs = Record<string, LaneSpec>;
export type LanesOf<L extends LaneSpecs> = { readonly [K in keyof L]: LaneOf<L[K]> };

/**
 * Timers of one twin, on the runtime's clock. Timers persist with the twin's state. A name
 * is a non-empty string; names starting with `$` are the engine's (a window lane's close
 * timer) and `__proto__` is refused: `set`, `setAt` and `cancel` of one throw, failing the turn.
 */
export interface TwinTimers {
  /** (Re)arms `name` to fire after `delayMs`; replaces an earlier setting. */
  set(name: string, delayMs: number): void;
  /** (Re)arms `name` to fire at clock time `time`. */
  setAt(name: string, time: number): void;
  cancel(name: string): void;
  /** When `name` fires next, or undefined. */
  due(name: string): number | undefined;
}

/** The minimal logger twins get (pino-compatible). */
export interface TwinLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/**
 * Everything model code may touch: its lanes, the clock, timers, outputs and messages to
 * other twins. No I/O, no storage, no wall clock: that is what makes models replayable.
 */
export interface TwinContext<L extends LaneSpecs = LaneSpecs> {
  readonly path: string;
  readonly model: string;
  /** Route parameters, e.g. `{ org, site, building }`. */
  readonly params: RouteParams;
  readonly lanes: LanesOf<L>;
  readonly timers: TwinTimers;
  readonly log: TwinLogger;
  /** The current time of the runtime's clock (virtual during replay). */
  now(): number;
  /** Emits a derived event (after this turn commits). `subject` defaults to this twin's path. */
  emit(type: string, data?: unknown, options?: { subject?: string }): void;
  /** Sends a command to another twin's command lane (delivered after this turn commits). */
  command(path: string, lane: string, value: unknown): void;
  /**
   * Rejects the current input as invalid: the turn rolls back and the sender gets
   * `TWIN_PAYLOAD_REJECTED`. It returns `never`, but TypeScript does not narrow after a
   * call through a contextually typed `ctx` (microsoft/TypeScript#37885): write
   * `return ctx.reject(…)`, or use the `reject` function twinflow exports, which narrows.
   */
  reject(reason: string): never;
}

type KeysOfKind<L, S> = { [K in keyof L]: L[K] extends S ? K : never }[keyof L] & string;
type ValueOf<S> = S extends ValueSpec<infer T> ? T : never;
type CommandOf<S> = S extends CommandSpec<infer C> ? C : never;
type JoinOf<S> = S extends JoinSpec<infer V> ? V : never;
type DemandOf<S> = S extends DemandSpec<infer T> ? T : never;
type MapOf<S> = S extends MapSpec<infer V> ? V : never;
type WindowOf<S> = S extends WindowSpec<infer R> ? R : WindowResult;

export type EventHandler<L extends LaneSpecs> = (ctx: TwinContext<L>, event: TwinEvent) => void;

/**
 * A model: the lanes of one kind of twin and its hooks. Hooks run inside a turn, one at a
 * time per twin; a hook that throws rolls the whole turn back.
 */
export interface TwinModelDef<L extends LaneSpecs> {
  /** Unique model name (`room`, `floor`); joins refer to children by it. */
  name: string;
  /** The route whose paths are twins of this model. */
  route: string;
  /** Bumped when lanes change shape; stored with the state. */
  version?: number;
  lanes: L;
  /** Overrides the runtime's shard key for this route. */
  shardKey?: ShardKeyFn;
  /** Event handlers by CloudEvent `type`; `'*'` catches the rest. */
  on?: Record<string, EventHandler<L>>;
  onCommand?: { [K in KeysOfKind<L, CommandSpec<any>>]?: (ctx: TwinContext<L>, command: CommandOf<L[K]>) => void };
  /**
   * When a value lane changed in a turn: runs at the end of the turn with the final value
   * and the value before the turn (or before this hook last ran), so reactions see
   * settled state. Changes made here run further hooks in the same turn.
   */
  onSet?: {
    [K in KeysOfKind<L, ValueSpec<any>>]?: (ctx: TwinContext<L>, value: ValueOf<L[K]>, old: ValueOf<L[K]>) => void;
  };
  /** After a map lane entry changed (value undefined when removed). */
  onEntry?: {
    [K in KeysOfKind<L, MapSpec<any>>]?: (
      ctx: TwinContext<L>,
      key: string,
      value: MapOf<L[K]> | undefined,
      old: MapOf<L[K]> | undefined,
    ) => void;
  };
  /** Incremental aggregation: called for every change of a joined child's lane. */
  onJoin?: {
    [K in KeysOfKind<L, JoinSpec<any>>]?: {
      update?(ctx: TwinContext<L>, key: string, value: JoinOf<L[K]>, old: JoinOf<L[K]> | undefined): void;
      remove?(ctx: TwinContext<L>, key: string, old: JoinOf<L[K]> | undefined): void;
    };
  };
  onDemand?: { [K in KeysOfKind<L, DemandSpec<any>>]: (ctx: TwinContext<L>) => DemandOf<L[K]> };
  /** A tumbling/hopping window closed. */
  onWindow?: { [K in KeysOfKind<L, WindowSpec<any>>]?: (ctx: TwinContext<L>, window: WindowOf<L[K]>) => void };
  onTimer?: Record<string, (ctx: TwinContext<L>) => void>;
  // `this: void`: the runtime calls these hooks as plain functions.
  onStart?(this: void, ctx: TwinContext<L>): void;
  onStop?(this: void, ctx: TwinContext<L>): void;
}

/** A model checked and indexed once, shared by all its twins. */
export interface TwinModel<L extends LaneSpecs = LaneSpecs> {
  readonly def: TwinModelDef<L>;
  readonly name: string;
  readonly route: RoutePattern;
  readonly laneNames: readonly string[];
  /** Shared per-lane constants, by lane index. */
  readonly laneInfos: readonly LaneInfo[];
  /** Window lane names fed by each source lane. */
  readonly windowsBySource: ReadonlyMap<string, readonly string[]>;
  /**
   * Per lane index, what a write to that lane must do besides storing the value: the
   * window lanes it feeds and whether it has an `onSet` hook. Arrays by index, because
   * every value write asks and a keyed lookup by name per write shows in profiles.
   */
  readonly writeEffects: readonly (WriteEffects | undefined)[];
  /** Per lane index, the timer name of a window lane (`$w:<name>`), built once. */
  readonly windowTimers: readonly (string | undefined)[];
  /** Indices of persistent lanes, in declaration order (what a record write visits). */
  readonly persistentLanes: readonly number[];
  /** Per lane index: the lane keeps entries outside the record (map, join, window). */
  readonly keyedLanes: readonly boolean[];
}

/** What a write to one lane triggers (see {@link TwinModel.writeEffects}). */
export interface WriteEffects {
  readonly onSet: boolean;
  /** Indices of the window lanes sampling this lane. */
  readonly windows: readonly number[];
}

/**
 * Defines a twin model. Lane types flow into every hook, so `ctx.lanes.temperature.set`
 * only accepts what the lane was declared with.
 *
 * @example
 * ```ts
 * export const room = defineTwin({
 *   name: 'room',
 *   route: '/org/:org/site/:site/building/:building/floor/:floor/unit/:unit/room/:room',
 *   lanes: { occupied: value(false), sensors: join<Reading | null>({ from: 'sensor', lane: 'latest' }) },
 *   onJoin: { sensors: { update(ctx, key, reading) { ctx.lanes.occupied.set(reading?.occupied === true); } } },
 * });
 * ```
 */
export function defineTwin<L extends LaneSpecs>(def: TwinModelDef<L>): TwinModel<L> {
  const bad = (reason: string): TwinError =>
    new TwinError('TWIN_MODEL_INVALID', `model "${def.name}": ${reason}`, { model: def.name, reason });
  if (!def.name || typeof def.name !== 'string') throw bad('a model needs a name');
  const route = RoutePattern.parse(def.route);
  const laneNames = Object.keys(def.lanes);
  const windowsBySource = new Map<string, string[]>();
  for (const name of laneNames) {
    if (name.startsWith('$')) throw bad(`lane names starting with "$" are reserved ("${name}")`);
    const spec = def.lanes[name]!;
    if (spec.kind === 'window') {
      const source = (spec as WindowSpec).source;
      const src = def.lanes[source];
      if (!src || src.kind !== 'value')
        throw bad(`window "${name}" needs a value lane as source, "${source}" is not one`);
      windowsBySource.set(source, [...(windowsBySource.get(source) ?? []), name]);
    }
  }
  const checkHooks = (hooks: object | undefined, kind: string, label: string): void => {
    for (const name of Object.keys(hooks ?? {})) {
      const spec = def.lanes[name];
      if (!spec || (spec.kind !== kind && !(kind === 'map' && spec.kind === 'join')))
        throw bad(`${label} names "${name}", which is not a ${kind} lane`);
    }
  };
  checkHooks(def.onCommand, 'command', 'onCommand');
  checkHooks(def.onSet, 'value', 'onSet');
  checkHooks(def.onJoin, 'join', 'onJoin');
  checkHooks(def.onDemand, 'demand', 'onDemand');
  checkHooks(def.onWindow, 'window', 'onWindow');
  for (const name of laneNames) {
    if (def.lanes[name]!.kind === 'demand' && !(def.onDemand as Record<string, unknown> | undefined)?.[name]) {
      throw bad(`demand lane "${name}" needs an onDemand hook`);
    }
  }
  const laneInfos = laneNames.map((name, i) => def.lanes[name]!.info(name, i));
  const setHooks = (def.onSet ?? {}) as Record<string, unknown>;
  const writeEffects = laneNames.map((name): WriteEffects | undefined => {
    const windows = (windowsBySource.get(name) ?? []).map((w) => laneNames.indexOf(w));
    const onSet = typeof setHooks[name] === 'function';
    return onSet || windows.length > 0 ? { onSet, windows } : undefined;
  });
  const windowTimers = laneNames.map((name) =>
    def.lanes[name]!.kind === 'window' ? WINDOW_TIMER_PREFIX + name : undefined,
  );
  const persistentLanes = laneInfos.filter((info) => info.persistent).map((info) => info.index);
  const keyedLanes = laneNames.map((name) => ['map', 'join', 'window'].includes(def.lanes[name]!.kind));
  return {
    def,
    name: def.name,
    route,
    laneNames,
    laneInfos,
    windowsBySource,
    writeEffects,
    windowTimers,
    persistentLanes,
    keyedLanes,
  };
}

/** Timer names of window lanes start with this (reserved: user timers cannot be named so). */
export const WINDOW_TIMER_PREFIX = '$w:';

/** Narrowing helper for command lanes used by the runtime. */
export type AnyCommandLane = CommandLane<unknown>;
