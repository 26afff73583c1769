import type { LaneEvent } from './events.js';
import { assertStorable } from '../store/plain-data.js';
import { Lane, type LaneHost, type LaneInfo } from './lane.js';

/** Spec-level options every instance of a value lane shares. */
export interface ValueOptions<T> {
  readonly initial: T;
  readonly equals: (a: T, b: T) => boolean;
  /** Converts a value stored by an older model version (see `value({ migrate })`). */
  readonly migrate?: ((stored: unknown, fromVersion: number) => T) | undefined;
}
import type { StateWrite, StoredTwin } from '../store/state-store.js';

/**
 * A single value, observable: `set` records the change (with the old value) for the
 * turn, and observers receive the new value after the turn commits. Equality decides
 * what counts as a change; the default is `Object.is`.
 *
 * @example
 * ```ts
 * ctx.lanes.temperature.set(21.5);
 * ctx.lanes.temperature.get(); // 21.5
 * ```
 */
export class ValueLane<T> extends Lane {
  get kind(): 'value' {
    return 'value';
  }
  private value: T;

  constructor(info: LaneInfo<ValueOptions<T>>, host: LaneHost) {
    super(info, host);
    this.value = info.options.initial;
  }

  private get equals(): (a: T, b: T) => boolean {
    return (this.info as LaneInfo<ValueOptions<T>>).options.equals;
  }

  get(): T {
    return this.value;
  }

  set(value: T): void {
    const old = this.value;
    const changed = !this.equals(old, value);
    if (changed) {
      assertStorable(value, this.host.path, this.name);
      this.value = value;
      this.host.noteChange(this, undefined, old, true);
    }
    this.host.afterWrite(this, value, old, changed);
  }

  /** This lane's notion of "unchanged" (its `equals` option). */
  same(a: T, b: T): boolean {
    return this.equals(a, b);
  }

  syncEvents(): LaneEvent[] {
    return [{ type: 'value', value: this.value }];
  }

  toJSON(): unknown {
    return this.value;
  }

  restore(stored: StoredTwin, fromVersion: number, toVersion: number): void {
    if (!Object.prototype.hasOwnProperty.call(stored.values, this.name)) return; // a new lane keeps its initial value
    const raw = stored.values[this.name];
    const migrate = (this.info as LaneInfo<ValueOptions<T>>).options.migrate;
    this.value = migrate && fromVersion !== toVersion ? migrate(raw, fromVersion) : (raw as T);
  }

  /** The value lives in the record; the host calls this only when the lane changed. */
  collect(_out: StateWrite[]): boolean {
    return true;
  }

  override recordValue(): unknown {
    return this.value;
  }

  revert(_key: string | undefined, old: unknown): void {
    this.value = old as T;
  }

  changeEvent(): LaneEvent {
    return { type: 'value', value: this.value };
  }
}
