import type { LaneKind } from '../lanes/events.js';
import { jsonEquals } from '../lanes/equality.js';
import { JoinLane } from '../lanes/join-lane.js';
import type { Lane, LaneHost, LaneInfo } from '../lanes/lane.js';
import { MapLane, type MapOptions } from '../lanes/map-lane.js';
import { CommandLane, DemandLane, SupplyLane } from '../lanes/signal-lanes.js';
import { ValueLane, type ValueOptions } from '../lanes/value-lane.js';
import {
  WindowLane,
  type TimeWeightedWindowResult,
  type WindowResult,
  type WindowShape,
} from '../lanes/window-lane.js';

function laneInfo<O>(name: string, index: number, persistent: boolean, options: O): LaneInfo<O> {
  return { name, index, persistent, options };
}

/**
 * A lane declaration in a model. Specs are shared by every twin of the model; each twin
 * creates its own small lane instance from the spec when it starts.
 */
export interface LaneSpec<I extends Lane = Lane> {
  readonly kind: LaneKind;
  /** Transient lanes are not persisted. */
  readonly transient: boolean;
  /** Per-model, per-lane constants shared by every twin (see {@link laneInfo}). */
  info(name: string, index: number): LaneInfo;
  create(info: LaneInfo, host: LaneHost, compute: () => unknown): I;
}

/**
 * A value lane's spec. `W` is whether network clients may set it, as a literal type when
 * the model says so (`value(x, { writable: true })` is `true`, `value(x)` is `false`), so
 * the typed client can refuse a command to a computed lane at compile time.
 */
export interface ValueSpec<T, W extends boolean = boolean> extends LaneSpec<ValueLane<T>> {
  readonly kind: 'value';
  readonly initial: T;
  /** Network clients (HTTP, WARP) may set it with a command; see {@link value}. */
  readonly writable: W;
}
export interface MapSpec<V> extends LaneSpec<MapLane<V>> {
  readonly kind: 'map';
}
export interface CommandSpec<C> extends LaneSpec<CommandLane<C>> {
  readonly kind: 'command';
  /** Optional guard that turns an untrusted payload into a typed command or throws. */
  readonly parse: ((raw: unknown) => C) | undefined;
}
export interface JoinSpec<V> extends LaneSpec<JoinLane<V>> {
  readonly kind: 'join';
  /** Names of the child models whose lane this join links. */
  readonly from: readonly string[];
  /** The lane of each child that is joined (a value lane). */
  readonly lane: string;
  /**
   * What of the child's value the parent keeps. The child sends an update only when the
   * projections of its old and new value differ, so changes the parent does not care
   * about cost no parent turn and no write.
   */
  readonly project: ((value: unknown) => V) | undefined;
}
export interface DemandSpec<T> extends LaneSpec<DemandLane<T>> {
  readonly kind: 'demand';
}
export interface SupplySpec<T> extends LaneSpec<SupplyLane<T>> {
  readonly kind: 'supply';
}
/** A window lane's spec; `R` is what its windows hold (time-weighted or not). */
export interface WindowSpec<R extends WindowResult = WindowResult> extends LaneSpec<WindowLane<R>> {
  readonly kind: 'window';
  readonly source: string;
  readonly sample: (value: unknown) => number | undefined;
  readonly shape: WindowShape;
  readonly timeWeighted: boolean;
}

/** Options every stateful lane kind takes. */
export interface CommonLaneOptions {
  /** Not persisted; restarts at its initial state. */
  transient?: boolean;
}

/**
 * A value lane. Changes are detected with `equals` (default `Object.is`; pass
 * `jsonEquals` for arrays/objects that are rebuilt each time).
 *
 * @example
 * ```ts
 * lanes: { temperature: value<number | null>(null), unoccupiedRooms: value<string[]>([], { equals: jsonEquals }) }
 * ```
 */
export function value<T>(initial: T, options: ValueLaneOptions<T> & { writable: true }): ValueSpec<T, true>;
export function value<T>(initial: T, options?: ValueLaneOptions<T> & { writable?: false }): ValueSpec<T, false>;
export function value<T>(initial: T, options?: ValueLaneOptions<T> & { writable?: boolean }): ValueSpec<T>;
export function value<T>(initial: T, options: ValueLaneOptions<T> & { writable?: boolean } = {}): ValueSpec<T> {
  const equals = options.equals ?? Object.is;
  return {
    kind: 'value',
    initial,
    transient: options.transient ?? false,
    writable: options.writable ?? false,
    info: (name, index) => laneInfo(name, index, !options.transient, { initial, equals, migrate: options.migrate }),
    create: (info, host) => new ValueLane<T>(info as LaneInfo<ValueOptions<T>>, host),
  };
}

/** Options of {@link value} besides `writable`. */
export interface ValueLaneOptions<T> extends CommonLaneOptions {
  equals?: (a: T, b: T) => boolean;
  /**
   * Converts a value stored by an older model version (the model's `version` changed
   * and this lane's type with it). Without it, a stored value is used as it is.
   */
  migrate?: (stored: unknown, fromVersion: number) => T;
  /**
   * Lets network clients (an HTTP command, a WARP `@command`) set the lane directly, as
   * Swim's value lanes allow. Off by default: most value lanes are state the model
   * computes (an aggregate, a status), and a client overwriting one would bypass the
   * model; expose a command lane with `parse` for client input instead. Server-side code
   * (`Runtime.command`) may always set a value lane. The typed client (`TypedTwin.command`)
   * offers only command lanes and lanes declared `writable: true`.
   */
  writable?: boolean;
}

/** A map lane with string keys. @example `lanes: { readings: map<number>() }` */
export function map<V>(options: CommonLaneOptions & { equals?: (a: V, b: V) => boolean } = {}): MapSpec<V> {
  const equals = options.equals ?? Object.is;
  return {
    kind: 'map',
    transient: options.transient ?? false,
    info: (name, index) => laneInfo(name, index, !options.transient, { equals }),
    create: (info, host) => new MapLane<V>(info as LaneInfo<MapOptions<V>>, host),
  };
}

/**
 * A command lane; its handler is the model's `onCommand[name]`. `parse` validates the
 * payload (throw to reject it) and gives the handler a typed value.
 *
 * @example
 * ```ts
 * lanes: { secure: command<boolean>({ parse: (v) => { if (typeof v !== 'boolean') throw new Error('boolean'); return v; } }) }
 * ```
 */
export function command<C>(options: { parse?: (raw: unknown) => C } = {}): CommandSpec<C> {
  return {
    kind: 'command',
    transient: true,
    parse: options.parse,
    info: (name, index) => laneInfo(name, index, false, undefined),
    create: (info, host) => new CommandLane<C>(info, host),
  };
}

/**
 * A join lane: the latest `lane` of every child twin whose model is in `from`, keyed by
 * child path, optionally only a projection of it (`project`). Incremental aggregates hook
 * `onJoin[name]` (update and remove).
 *
 * @example
 * ```ts
 * lanes: { rooms: join<boolean>({ from: 'room', lane: 'occupied' }) }
 * ```
 */
export function join<V>(
  options: CommonLaneOptions & { from: string | readonly string[]; lane: string; project?: (value: unknown) => V },
): JoinSpec<V> {
  return {
    kind: 'join',
    transient: options.transient ?? false,
    from: typeof options.from === 'string' ? [options.from] : options.from,
    lane: options.lane,
    project: options.project,
    info: (name, index) => laneInfo(name, index, !options.transient, { equals: jsonEquals }),
    create: (info, host) => new JoinLane<V>(info as LaneInfo<MapOptions<V>>, host),
  };
}

/** A demand lane, computed by the model's `onDemand[name]` only when observed. */
export function demand<T>(): DemandSpec<T> {
  return {
    kind: 'demand',
    transient: true,
    info: (name, index) => laneInfo(name, index, false, undefined),
    create: (info, host, compute) => new DemandLane<T>(info, host, compute as () => T),
  };
}

/** A supply lane: push-only, no state. @example `ctx.lanes.alerts.push(x)` */
export function supply<T>(): SupplySpec<T> {
  return {
    kind: 'supply',
    transient: true,
    info: (name, index) => laneInfo(name, index, false, undefined),
    create: (info, host) => new SupplyLane<T>(info, host),
  };
}

/** Options of {@link window}; `T` is the source lane's value type. */
export type WindowLaneOptions<T> = CommonLaneOptions &
  WindowShapeOption & {
    source: string;
    /** Picks the number out of the source's value (default: the value when it is a number). */
    sample?: (value: T) => number | undefined;
    /** Tumbling/hopping windows kept in the lane (oldest dropped first). Default 24. */
    keep?: number;
    /** Also aggregate over time: each value weighted by how long it held (see {@link TimeWeightedWindowResult}). */
    timeWeighted?: boolean;
    /**
     * Sliding windows: samples kept at most (default {@link DEFAULT_MAX_SLIDING_SAMPLES},
     * up to {@link MAX_SLIDING_SAMPLES}). A source that samples faster than this over the
     * window's `size` has its oldest samples dropped before they age out: `count`, `sum`,
     * `avg`, `min` and `max` then cover the newest `maxSamples`, and the twin's shard logs it
     * (counted, at most a line per 10 s). Every sample costs work and record bytes in
     * proportion to the samples kept.
     */
    maxSamples?: number;
  };

/** Samples a sliding window keeps unless `maxSamples` says otherwise. */
export const DEFAULT_MAX_SLIDING_SAMPLES = 1_000;
/** The largest `maxSamples` of a sliding window. */
export const MAX_SLIDING_SAMPLES = 100_000;

/**
 * A window over value lane `source`. The twin samples the source once per turn that
 * wrote it, with the value it settled on at the end of the turn (what `onSet` sees), at
 * the twin's current time. `sample` picks the number out of that value (default: the
 * value itself when it is a number; `undefined` skips the sample). Tumbling:
 * `{ kind: 'tumbling', size }`; hopping: `{ kind: 'hopping', size, hop }`; sliding:
 * `{ kind: 'sliding', size }`. Windows hold `count`, `sum`, `avg`, `min`, `max` of the
 * samples; with `timeWeighted: true` also `timeAvg` (each value weighted by how long it
 * held), for state-like signals such as occupancy. Closed windows are reported to the
 * model's `onWindow[name]` hook.
 *
 * @example
 * ```ts
 * hourly: window({ source: 'latest', sample: (r: Reading | null) => r?.temperature, kind: 'tumbling', size: 3_600_000 }),
 * occupancy: window({ source: 'occupied', sample: (o: boolean) => (o ? 1 : 0), kind: 'tumbling', size: 3_600_000, timeWeighted: true }),
 * ```
 */
export function window<T = unknown>(
  options: WindowLaneOptions<T> & { timeWeighted: true },
): WindowSpec<TimeWeightedWindowResult>;
export function window<T = unknown>(options: WindowLaneOptions<T>): WindowSpec;
export function window<T = unknown>(options: WindowLaneOptions<T>): WindowSpec<WindowResult> {
  const shape: WindowShape =
    options.kind === 'hopping'
      ? { kind: 'hopping', size: options.size, hop: options.hop }
      : { kind: options.kind, size: options.size };
  if (!(shape.size > 0) || (shape.kind === 'hopping' && !(shape.hop > 0 && shape.hop <= shape.size))) {
    throw new RangeError(`window: size must be > 0 and 0 < hop <= size`);
  }
  const keep = options.keep ?? 24;
  // A hopping window is open for size/hop hops: keeping fewer would trim windows before they close.
  const open = shape.kind === 'hopping' ? Math.ceil(shape.size / shape.hop) : 1;
  if (!Number.isInteger(keep) || keep < open) {
    throw new RangeError(`window: keep must be an integer >= ${open} (the windows open at once), got ${keep}`);
  }
  const timeWeighted = options.timeWeighted === true;
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SLIDING_SAMPLES;
  if (!Number.isInteger(maxSamples) || maxSamples < 1 || maxSamples > MAX_SLIDING_SAMPLES)
    throw new RangeError(`window: maxSamples must be an integer from 1 to ${MAX_SLIDING_SAMPLES}, got ${maxSamples}`);
  if (options.maxSamples !== undefined && shape.kind !== 'sliding')
    throw new RangeError('window: maxSamples is for sliding windows (tumbling and hopping ones keep no samples)');
  // The spec is shared by every lane of a model, typed or not: the twin passes the source's value.
  const sample =
    (options.sample as ((value: unknown) => number | undefined) | undefined) ??
    ((v: unknown) => (typeof v === 'number' ? v : undefined));
  return {
    kind: 'window',
    transient: options.transient ?? false,
    source: options.source,
    sample,
    shape,
    timeWeighted,
    info: (name, index) => laneInfo(name, index, !options.transient, { shape, keep, timeWeighted, maxSamples }),
    create: (info, host) => new WindowLane(info, host),
  };
}

type WindowShapeOption =
  { kind: 'tumbling' | 'sliding'; size: number } | { kind: 'hopping'; size: number; hop: number };

/** The lane instance type a spec creates. */
export type LaneOf<S> = S extends LaneSpec<infer I> ? I : never;
