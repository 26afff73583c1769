import type { LaneEvent } from './events.js';
import { Lane, type LaneHost, type LaneInfo } from './lane.js';
import type { StateWrite } from '../store/state-store.js';

/** Lanes that keep no state: nothing to sync, persist or restore. */
abstract class StatelessLane extends Lane {
  syncEvents(): LaneEvent[] {
    return [];
  }
  toJSON(): unknown {
    return undefined;
  }
  restore(): void {}
  collect(_out: StateWrite[]): boolean {
    return false;
  }
}

/**
 * A command lane holds no state: each command runs the model's handler in a turn and is
 * then broadcast to the lane's observers (as Swim's command lanes do).
 */
export class CommandLane<C> extends StatelessLane {
  get kind(): 'command' {
    return 'command';
  }
  private last: C | undefined;

  /** Records the command for observers; the twin calls this before running the handler. */
  received(command: C): void {
    const old = this.last;
    this.last = command;
    this.host.noteChange(this, undefined, old, true);
  }

  revert(_key: string | undefined, old: unknown): void {
    this.last = old as C;
  }
  changeEvent(): LaneEvent {
    return { type: 'value', value: this.last };
  }
}

/**
 * A demand lane computes its value only when someone looks: on sync, and after `cue()`
 * when it has observers. Transient by nature.
 *
 * @example
 * ```ts
 * onDemand: { summary: (ctx) => ({ rooms: ctx.lanes.rooms.size }) }
 * ctx.lanes.summary.cue(); // observers get a freshly computed value after this turn
 * ```
 */
export class DemandLane<T> extends Lane {
  get kind(): 'demand' {
    return 'demand';
  }

  constructor(
    info: LaneInfo,
    host: LaneHost,
    private readonly compute: () => T,
  ) {
    super(info, host);
  }

  /** Marks the value stale: observers receive a recomputed value when the turn commits. */
  cue(): void {
    this.host.noteChange(this, undefined, undefined, true);
  }

  get(): T {
    return this.compute();
  }

  syncEvents(): LaneEvent[] {
    return [{ type: 'value', value: this.compute() }];
  }
  toJSON(): unknown {
    return this.compute();
  }
  restore(): void {}
  collect(_out: StateWrite[]): boolean {
    return false;
  }
  revert(): void {}
  changeEvent(): LaneEvent {
    return { type: 'value', value: this.compute() };
  }
}

/**
 * A supply lane pushes values to whoever is linked and keeps nothing: a late subscriber
 * gets no history and sync yields no state.
 *
 * @example
 * ```ts
 * ctx.lanes.alerts.push({ level: 'warn', text: 'door open' });
 * ```
 */
export class SupplyLane<T> extends StatelessLane {
  get kind(): 'supply' {
    return 'supply';
  }
  private pending: T[] = [];

  push(value: T): void {
    this.pending.push(value);
    this.host.noteChange(this, String(this.pending.length - 1), undefined, false);
  }

  revert(key: string | undefined): void {
    this.pending.length = Number(key);
  }
  changeEvent(key: string | undefined): LaneEvent {
    return { type: 'value', value: this.pending[Number(key)] };
  }
  override afterCommit(): void {
    if (this.pending.length > 0) this.pending = [];
  }
}
