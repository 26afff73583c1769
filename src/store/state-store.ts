/**
 * The storage port of lane state. The actors layer writes through it; src/persistence
 * implements it (LMDB) and so does {@link MemoryStateStore} for transient runtimes.
 *
 * Layout per twin path: one **record** holding every value-shaped lane (and runtime
 * bookkeeping under `$`-names such as `$timers`), rewritten whole when any of them
 * changed in a step, so a busy twin costs one put per commit; and **entries** of keyed
 * lanes (map, join, window) per (path, lane, key), so a large map costs one put per
 * changed key, never a rewrite.
 */
/** Why a journaled turn ran. */
export interface JournalCause {
  readonly kind: 'event' | 'command' | 'timer' | 'join' | 'start' | 'stop';
  /** For events: their CloudEvents id, source and type. */
  readonly id?: string;
  readonly source?: string;
  readonly type?: string;
  /** For commands: the lane; for timers: the timer name. */
  readonly lane?: string;
  readonly name?: string;
}

/**
 * One lane change of a turn: `[lane, key, old, new]`. `key` is null for value-shaped
 * lanes and for a map `clear` (whose `old` is the whole map as an object); `undefined`
 * old/new means "absent" (an added or removed key).
 */
export type JournalChange = readonly [lane: string, key: string | null, old: unknown, next: unknown];

/** One committed turn of one twin, as the optional journal records it. */
export interface JournalEntry {
  readonly path: string;
  /** Clock time of the turn (ms). */
  readonly time: number;
  /** Orders entries of the same time (per shard, monotonic). */
  readonly seq: number;
  readonly cause: JournalCause;
  readonly changes: readonly JournalChange[];
}

/**
 * What one read of a twin's journal returns: its entries with `from <= time <= to`, in
 * journal order (oldest first, or newest first with `newestFirst`), at most `limit` of
 * them, continuing past `after` (the {@link HistoryPage.next} of the previous page). A
 * store reads only the page: a twin's journal can hold far more than fits in an answer.
 */
export interface HistoryQuery {
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  /** A position this store issued ({@link HISTORY_POSITION}); the page starts after it. */
  readonly after?: string;
  readonly newestFirst?: boolean;
  /**
   * Count the entries in [from, to] instead of reading them, stopping at `limit` (the page
   * then has no entries and `count` set; `after` is ignored; a count of `limit` means "at
   * least"). What a bounded read asks first, so a read past its bound is refused without
   * decoding the entries it would have undone, and the count costs no more than the bound:
   * a busy twin's journal holds millions of entries within its retention.
   */
  readonly countOnly?: boolean;
}

/** One page of a twin's journal; `next` is where the following page starts, null when the range has no more. */
export interface HistoryPage {
  readonly entries: JournalEntry[];
  readonly next: string | null;
  /** With {@link HistoryQuery.countOnly}: how many entries the range holds, at most the query's `limit`. */
  readonly count?: number;
}

/**
 * The shape of a journal position: 30 decimal digits (time 15, writer 3, sequence 12), so
 * that string order is journal order. Positions cross threads and reach clients (as a
 * cursor), so the runtime checks them against this before a store reads from one.
 */
export const HISTORY_POSITION = /^\d{30}$/;

/** The position of an entry written at `time` by `writer` as its `seq`-th (see {@link HISTORY_POSITION}). */
export function historyPosition(time: number, writer: number, seq: number): string {
  return (
    String(Math.max(0, Math.floor(time))).padStart(15, '0') +
    String(writer).padStart(3, '0') +
    String(seq).padStart(12, '0')
  );
}

export type StateWrite =
  /**
   * Replaces the twin's record. `created`: the twin knows the store held no record for it
   * before (so it has nothing indexed either, and a store may skip looking).
   */
  | {
      readonly op: 'record';
      readonly path: string;
      readonly values: Readonly<Record<string, unknown>>;
      readonly created?: boolean;
    }
  | { readonly op: 'put'; readonly path: string; readonly lane: string; readonly key: string; readonly value: unknown }
  /** Deletes one entry, or with no key every entry of the lane. */
  | { readonly op: 'del'; readonly path: string; readonly lane: string; readonly key?: string }
  /** Appends a turn to the journal (only when journaling is on). */
  | { readonly op: 'journal'; readonly path: string; readonly entry: JournalEntry };

/** What a store holds for one twin. */
export interface StoredTwin {
  readonly values: Readonly<Record<string, unknown>>;
  readonly entries: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

/**
 * Some writes of a batch could not be encoded (a value too deep for the encoder, a key past
 * the store's key size): the store committed the others and names the twins it could not
 * store. Lanes refuse such state when a model sets it (assertStorable), so this is the
 * second line, for state mutated in place after it was set; the group commit treats it as
 * a failed commit (its tickets fail, its twins go back to their stored state).
 */
export class UnstorableWritesError extends Error {
  constructor(
    readonly paths: ReadonlySet<string>,
    readonly first: unknown,
  ) {
    super(
      `state of ${paths.size} twin(s) could not be stored (${[...paths].slice(0, 3).join(', ')}): ${(first as Error)?.message ?? first}`,
    );
    this.name = 'UnstorableWritesError';
  }
}

/**
 * A twin's record that a store may hold by reference to the live twin instead of as a value
 * written every step (see {@link StateStore.liveRecords}).
 */
export interface LiveRecord {
  /**
   * The twin's record and keyed-lane entries as of the last step that changed it, built now;
   * undefined while a step is changing the twin (a turn runs, or its changes are not handed
   * to the store yet): ask again once that step ended.
   */
  committedState(): StoredTwin | undefined;
}

/** What a store that can hold live records offers (see {@link StateStore.liveRecords}). */
export interface LiveRecords {
  /**
   * From now on the record and entries of `path` are what `source` says, until a `record`
   * write (then the entries are taken from `source` first), `forget` or `quarantine` of the
   * path replaces them. Takes effect at once, not with a batch.
   */
  holdLive(path: string, source: LiveRecord): void;
}

export interface StateStore {
  /** The stored state of a twin, or undefined when it has none. May be async for remote stores. */
  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined>;
  /**
   * Applies a batch atomically. Resolves once the batch is committed with the store's
   * durability; only then may the effects be acknowledged to the sender. A write that
   * cannot be encoded is left out and the rest committed, then the promise rejects with
   * {@link UnstorableWritesError} naming the twins left out.
   */
  write(batch: readonly StateWrite[]): Promise<void>;
  /**
   * For a store that resolves `write` before the batch is visible to `load` (relaxed
   * durability: LMDB acknowledges at once and commits in the background): a promise that
   * resolves once every batch written so far is visible, or undefined when they already
   * are. Without it, a twin stopped and started again at once would restore the state
   * from before its last write.
   */
  visible?(): Promise<void> | undefined;
  /** Paths with stored state under `prefix` (a path text, or '' for all), in any order. */
  list(prefix: string): Iterable<string>;
  /**
   * Optional bulk read: the stored twins at and under `prefix` (a path text), in path
   * order, strictly after `after` when given. A store that can read sequentially (LMDB:
   * one cursor over records, one over entries) restores many twins far faster this way
   * than with a `load` per twin. Without it, `Runtime.warm` falls back to `list` + `load`.
   */
  scan?(prefix: string, after?: string): Iterable<[string, StoredTwin]>;
  /**
   * Optional: moves every stored byte of `path` (record and entries) out of the twin's
   * state, kept aside where an operator can recover it (LMDB: the `quarantine` database),
   * and returns ids naming what was kept. The runtime calls it for a record that decodes
   * but that its model cannot restore (a value of the wrong type, a `migrate` that throws):
   * the twin then starts fresh instead of failing every call. Without it the bytes stay
   * where they are; the twin still starts fresh, and its first write replaces the record.
   */
  quarantine?(path: string, reason: unknown): string[];
  /**
   * Optional, for a store whose writes commit at once and never fail (the in-memory store):
   * it may keep a live twin's record as a reference to the twin ({@link LiveRecords}) and
   * build it and its entries only when read, instead of taking a fresh record object and
   * entry writes every step the twin changed. A stopped twin's final writes are still
   * written. A store
   * that delays or may fail its writes returns undefined: a held record would be visible
   * before its step commits, and could not go back to the stored state after a failure.
   */
  liveRecords?(): LiveRecords | undefined;
  /** One page of `path`'s journal (see {@link HistoryQuery}; stores without a journal return no entries). */
  history(path: string, query: HistoryQuery): HistoryPage;
  close(): Promise<void>;
}
