import type { LaneEvent, LaneKind } from './events.js';
import type { StateWrite, StoredTwin } from '../store/state-store.js';

/**
 * What a lane needs from the twin that owns it. Lanes hold state and know their own
 * semantics; the host (a twin, in src/actors) turns their changes into rollback records,
 * persistence writes and fan-out, and dispatches model hooks. Keeping this an interface
 * keeps lanes free of actors, I/O and time.
 */
export interface LaneHost {
  readonly path: string;
  /** A state change inside the current turn: `old`/`existed` are what rollback restores. */
  noteChange(lane: Lane, key: string | undefined, old: unknown, existed: boolean): void;
  /** Every write to a value-shaped lane, changed or not (a turn that writes a window's source is one sample). */
  afterWrite(lane: Lane, value: unknown, old: unknown, changed: boolean): void;
  /** A keyed lane's entry changed (value undefined and existed=false means removed). */
  afterEntry(lane: Lane, key: string, value: unknown, old: unknown, removed: boolean): void;
  /** A sliding window dropped `count` samples before they aged out (past its `maxSamples`). */
  samplesDropped?(lane: Lane, count: number): void;
}

/**
 * What every twin's instance of one declared lane shares: its name, position and
 * spec-level options. Kept out of the instances to keep live twins small.
 */
export interface LaneInfo<O = unknown> {
  readonly name: string;
  readonly index: number;
  readonly persistent: boolean;
  readonly options: O;
}

/** The string held for a twin path already, if any (see {@link Lane.restore}). */
export type SharedPaths = (path: string) => string | undefined;

/** Base of every lane instance. One instance per lane per live twin, so keep it small. */
export abstract class Lane {
  /** A prototype getter in every subclass: no per-instance field. */
  abstract get kind(): LaneKind;

  constructor(
    protected readonly info: LaneInfo,
    protected readonly host: LaneHost,
  ) {}

  get name(): string {
    return this.info.name;
  }

  get index(): number {
    return this.info.index;
  }

  get persistent(): boolean {
    return this.info.persistent;
  }

  /** The current state as the events a new subscriber needs (the `@sync` part). */
  abstract syncEvents(): LaneEvent[];
  /** The current state as a JSON-friendly value (HTTP reads, digests, tests). */
  abstract toJSON(): unknown;
  /**
   * Loads stored state before the first turn. `fromVersion`/`toVersion` are the model
   * versions that wrote the state and that reads it (value lanes may migrate). `shared`,
   * when given, names the string the runtime already holds for a twin path (a live twin's
   * own), which a lane keyed by twin paths keeps instead of the store's copy.
   */
  abstract restore(stored: StoredTwin, fromVersion: number, toVersion: number, shared?: SharedPaths): void;
  /**
   * Persists what changed since the last call and forgets it: keyed lanes append entry
   * writes to `out`; the result is true when the lane's record value changed. The host
   * calls it only for lanes that changed in a committed turn since the last write.
   */
  abstract collect(out: StateWrite[]): boolean;
  /** The value this lane keeps in the twin's record, or undefined when it keeps none. */
  recordValue(): unknown {
    return undefined;
  }
  /**
   * For a store that reads a live twin's state from its lanes (see StateStore.liveRecords):
   * what {@link collect} would have handed over since the last call is forgotten instead,
   * with no writes built; the result is {@link collect}'s.
   */
  discardChanges(): boolean {
    return false;
  }
  /**
   * The entries the store holds for this lane after every {@link collect} so far (keyed
   * lanes), as a new map the caller may keep; undefined when there are none.
   */
  storedEntries(): Map<string, unknown> | undefined {
    return undefined;
  }
  /**
   * What this lane keeps in the record's `$in` field (a small keyed lane's entries, see
   * inline-entries.ts), or undefined when it keeps nothing there.
   */
  inlineEntries(): unknown[] | undefined {
    return undefined;
  }
  /** True when this lane keeps entries outside the record (keyed lanes with any entry). */
  hasEntries(): boolean {
    return false;
  }
  /** Undoes one change noted in the current turn (called newest first). */
  abstract revert(key: string | undefined, old: unknown, existed: boolean): void;
  /** The event observers get for one noted change, read after the turn commits. */
  abstract changeEvent(key: string | undefined): LaneEvent;
  /** Called once the turn's changes were dispatched, to drop per-turn state. */
  afterCommit(): void {}
}
