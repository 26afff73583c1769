import { TwinError } from '../errors.js';
import type { Lane } from '../lanes/lane.js';
import type { CommandLane } from '../lanes/signal-lanes.js';
import type { ValueLane } from '../lanes/value-lane.js';
import type { WindowResult } from '../lanes/window-lane.js';
import type { CommandSpec } from '../model/lane-specs.js';
import type { TwinEvent, TwinModel } from '../model/twin-model.js';
import { own } from './own.js';
import type { TwinCtx } from './twin-context.js';

/** What hook dispatch needs of a twin (`Twin` implements it; no import of twin.ts here). */
export interface HookTarget {
  readonly path: string;
  readonly model: string;
  readonly definition: TwinModel;
  readonly ctx: TwinCtx;
  lane(name: string): Lane | undefined;
}

/**
 * How a twin's model hooks are found and called. Every hook gets the twin's
 * {@link TwinCtx}, never the twin. Hooks are looked up by name in the model's plain
 * objects with {@link own}: event types and lane names come from senders, and
 * `on.constructor` is no handler. The hooks' types are erased here (the model checked
 * them against its lanes when it was defined).
 */
type Hook = (ctx: TwinCtx, ...args: unknown[]) => void;
type Hooks = Readonly<Record<string, Hook | undefined>> | undefined;

/** Runs the model's handler for an event's type, or its `'*'` handler. */
export function dispatchEvent(twin: HookTarget, event: TwinEvent): void {
  const on = twin.definition.def.on as Hooks;
  const handler = own(on, event.type) ?? own(on, '*');
  if (!handler) {
    throw new TwinError('TWIN_EVENT_UNHANDLED', `model "${twin.model}" has no handler for event type "${event.type}"`, {
      path: twin.path,
      type: event.type,
    });
  }
  handler(twin.ctx, event);
}

/**
 * A command for one of the twin's lanes: a value lane is set, a command lane parses the
 * payload (its spec's `parse`), records it for observers and runs its `onCommand` hook.
 */
export function dispatchCommand(twin: HookTarget, laneName: string, raw: unknown): void {
  const lane = twin.lane(laneName);
  if (!lane)
    throw new TwinError('TWIN_LANE_NOT_FOUND', `twin ${twin.path} has no lane "${laneName}"`, {
      path: twin.path,
      lane: laneName,
    });
  if (lane.kind === 'value') {
    (lane as unknown as { set(v: unknown): void }).set(raw);
    return;
  }
  if (lane.kind !== 'command') {
    throw new TwinError(
      'TWIN_LANE_KIND',
      `lane "${laneName}" of ${twin.path} is a ${lane.kind} lane and takes no commands`,
      { path: twin.path, lane: laneName },
    );
  }
  const spec = twin.definition.def.lanes[laneName] as CommandSpec<unknown>;
  let command = raw;
  if (spec.parse) {
    try {
      command = spec.parse(raw);
    } catch (err) {
      throw new TwinError(
        'TWIN_PAYLOAD_REJECTED',
        `command for ${twin.path}#${laneName} rejected: ${(err as Error).message}`,
        { path: twin.path, lane: laneName },
      );
    }
  }
  (lane as CommandLane<unknown>).received(command);
  (twin.definition.def.onCommand as Hooks)?.[laneName]?.(twin.ctx, command);
}

/** A user timer that came due: its `onTimer` hook (a model without one fails the turn). */
export function dispatchTimer(twin: HookTarget, name: string): void {
  const hook = (twin.definition.def.onTimer as Hooks)?.[name];
  if (!hook)
    throw new TwinError('TWIN_TURN_FAILED', `model "${twin.model}" has no onTimer hook "${name}"`, {
      path: twin.path,
      timer: name,
    });
  hook(twin.ctx);
}

/** Windows of lane `name` that closed: its `onWindow` hook, once per window, oldest first. */
export function dispatchWindows(twin: HookTarget, name: string, closed: readonly WindowResult[]): void {
  const hook = (twin.definition.def.onWindow as Hooks)?.[name];
  for (const result of closed) hook?.(twin.ctx, result);
}

/** A keyed lane's entry changed: a join's `onJoin` update/remove, or a map's `onEntry`. */
export function dispatchEntry(
  twin: HookTarget,
  lane: Lane,
  key: string,
  value: unknown,
  old: unknown,
  removed: boolean,
): void {
  const def = twin.definition.def;
  if (lane.kind === 'join') {
    const hooks = (def.onJoin as Readonly<Record<string, { update?: Hook; remove?: Hook } | undefined>> | undefined)?.[
      lane.name
    ];
    if (removed) hooks?.remove?.(twin.ctx, key, old);
    else hooks?.update?.(twin.ctx, key, value, old);
  } else if (lane.kind === 'map') {
    (def.onEntry as Hooks)?.[lane.name]?.(twin.ctx, key, value, old);
  }
}

/**
 * One round of `onSet` hooks: `pending` is [lane, old, lane, old, …] (the value each
 * lane had when the hook last saw it); a hook runs only if its lane's value differs now.
 */
export function runSetHooks(twin: HookTarget, pending: readonly unknown[]): void {
  const hooks = twin.definition.def.onSet as Readonly<Record<string, Hook>>;
  for (let i = 0; i < pending.length; i += 2) {
    const lane = pending[i] as ValueLane<unknown>;
    const old = pending[i + 1];
    const current = lane.get();
    if (!lane.same(old, current)) hooks[lane.name]!(twin.ctx, current, old);
  }
}
