import type { TwinError } from '../errors.js';
import type { JournalCause, StateStore } from '../store/state-store.js';
import type { ModelCatalog } from './catalog.js';
import type { Clock } from './clock.js';
import type { DerivedEvent, TwinContext, TwinEvent, TwinLogger } from '../model/twin-model.js';
import type { PassivationOptions } from './passivation.js';
import type { Twin } from './twin.js';

export interface ShardOptions {
  readonly catalog: ModelCatalog;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly log: TwinLogger;
  /** Events remembered per twin for `source`+`id` dedupe (default 8; 0 turns dedupe off). */
  readonly dedupeWindow?: number;
  /** Most inbox items one step processes before it commits and yields to I/O. */
  readonly stepBudget?: number;
  /**
   * With several shards: whether a path is owned by this shard. Joins and commands for
   * twins owned elsewhere leave through `onRemote` instead of the local inbox.
   */
  readonly owns?: (path: string) => boolean;
  readonly onRemote?: (message: RemoteMessage) => void;
  /**
   * Send joins and commands for twins owned elsewhere only once the step that produced them
   * committed, as outputs are, and never when its commit failed. Cluster mode sets it: a
   * turn whose commit the state log refuses (a node that lost its vshard and does not know
   * yet) then has no effect anywhere. Without it they leave as their turn ends (worker
   * threads of one node share one store, where a failed commit fails both sides).
   */
  readonly remoteAfterCommit?: boolean;
  /** Record every committed turn (cause and lane changes) in the store's journal. */
  readonly journal?: boolean;
  /**
   * The last process on the store died without closing it: join updates to parents under
   * another shard key that were in flight are lost (they travel as messages and commit apart
   * from the child). At start, the shard restores its stored twins whose parent has another
   * shard key, and each announces its values again (see join-recovery.ts).
   */
  readonly recoverJoins?: boolean;
  /** When live twins are passivated (state already persisted, memory released). */
  readonly passivation?: PassivationOptions;
  readonly onOutput?: (event: DerivedEvent) => void;
  readonly onTurnError?: (error: TwinError, path: string) => void;
}

/** What a shard sends to twins it does not own (routed by the runtime to their owner). */
export type RemoteMessage =
  | {
      readonly kind: 'join';
      readonly parent: string;
      readonly lane: string;
      readonly child: string;
      readonly value: unknown;
    }
  | { readonly kind: 'command'; readonly path: string; readonly lane: string; readonly value: unknown };

/** Turn bodies are static functions with arguments, so a turn allocates no closure. */
export type TurnBody<A, B> = (twin: Twin, a: A, b: B) => void;
export const RUN_EVENT: TurnBody<TwinEvent, undefined> = (twin, event) => twin.runEvent(event);
export const RUN_COMMAND: TurnBody<string, unknown> = (twin, lane, value) => twin.runCommand(lane, value);
export const RUN_TIMER: TurnBody<string, number> = (twin, name, due) => twin.runTimer(name, due);
/** `onStart`/`onStop`: the hook gets the twin's ctx, never the twin. */
export const RUN_HOOK: TurnBody<((ctx: TwinContext) => void) | undefined, undefined> = (twin, hook) => hook?.(twin.ctx);

export const JOIN_CAUSE: JournalCause = { kind: 'join' };
export const START_CAUSE: JournalCause = { kind: 'start' };
export const STOP_CAUSE: JournalCause = { kind: 'stop' };
