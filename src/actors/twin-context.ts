import type { Lane } from '../lanes/lane.js';
import type { LaneSpecs, LanesOf, TwinContext, TwinLogger, TwinModel, TwinTimers } from '../model/twin-model.js';
import { TwinPath, type RouteParams } from '../topology/index.js';

/**
 * What the facade needs of the twin behind it. `Twin` implements it; naming it here keeps
 * this file free of an import of twin.ts (which imports this one).
 */
export interface CtxTarget {
  readonly path: string;
  readonly definition: TwinModel;
  readonly lanes: Record<string, Lane>;
  readonly log: TwinLogger;
  now(): number;
  emit(type: string, data: unknown, subject: string | undefined): void;
  command(path: string, lane: string, value: unknown): void;
  reject(reason: string): never;
  setTimer(name: string, due: number): void;
  cancelTimer(name: string): void;
  timerDue(name: string): number | undefined;
}

/**
 * The `ctx` a model's hooks get: the {@link TwinContext} surface and nothing else. The
 * twin behind it is a `#private` field, so no cast on `ctx` reaches the engine
 * (`(ctx as any).collectWrites` is undefined; its own enumerable keys are none, its
 * prototype holds only the API). A lane still knows its host in a TypeScript-`protected`
 * field, so `(ctx.lanes.x as any).host` is a second cast away (docs/ARCHITECTURE.md, not yet). One per twin, made on the twin's first hook and kept,
 * so a turn allocates nothing for it.
 *
 * @example
 * ```ts
 * const room = defineTwin({
 *   name: 'room', route: '/room/:room', lanes: { occupied: value(false) },
 *   on: { motion(ctx) { ctx.lanes.occupied.set(true); ctx.timers.set('vacant', 600_000); } },
 * });
 * ```
 */
export class TwinCtx implements TwinContext<LaneSpecs> {
  readonly #twin: CtxTarget;
  /** Route parameters, bound on first use (most hot-path handlers never ask). */
  #params: RouteParams | undefined = undefined;

  constructor(twin: CtxTarget) {
    this.#twin = twin;
  }

  get path(): string {
    return this.#twin.path;
  }

  get model(): string {
    return this.#twin.definition.name;
  }

  get params(): RouteParams {
    const twin = this.#twin;
    return (this.#params ??= twin.definition.route.match(TwinPath.parse(twin.path)) ?? {});
  }

  get lanes(): LanesOf<LaneSpecs> {
    return this.#twin.lanes;
  }

  get timers(): TwinTimers {
    // One handle shared by all twins, rebound here: hooks run one turn at a time.
    timersTwin = this.#twin;
    return SHARED_TIMERS;
  }

  get log(): TwinLogger {
    return this.#twin.log;
  }

  now(): number {
    return this.#twin.now();
  }

  emit(type: string, data?: unknown, options?: { subject?: string }): void {
    this.#twin.emit(type, data, options?.subject);
  }

  command(path: string, lane: string, value: unknown): void {
    this.#twin.command(path, lane, value);
  }

  reject(reason: string): never {
    return this.#twin.reject(reason);
  }
}

/** The twin whose hook last asked for `ctx.timers` (module-private: no handle exposes it). */
let timersTwin: CtxTarget | undefined;

/**
 * A timer name a model may arm or cancel: a non-empty string, not starting with `$` (the
 * engine's own timers: `$w:<lane>` closes a window lane, and arming or cancelling it from a
 * model stopped the window or swallowed the model's timer) and not `__proto__` (a twin's
 * timers are stored as a plain object's keys, where that one is not a key).
 */
function userTimer(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.startsWith('$') || name === '__proto__')
    throw new RangeError(
      `timer name ${JSON.stringify(name)} is not allowed: a non-empty string, not starting with "$" and not "__proto__"`,
    );
  return name;
}

/** `ctx.timers`: one frozen handle for all twins, acting on {@link timersTwin}. */
const SHARED_TIMERS: TwinTimers = Object.freeze({
  set(name: string, delayMs: number): void {
    timersTwin!.setTimer(userTimer(name), timersTwin!.now() + delayMs);
  },
  setAt(name: string, time: number): void {
    timersTwin!.setTimer(userTimer(name), time);
  },
  cancel(name: string): void {
    timersTwin!.cancelTimer(userTimer(name));
  },
  due(name: string): number | undefined {
    return timersTwin!.timerDue(name);
  },
});
