/**
 * The storage port of lane state. The actors layer writes through it; src/persistence
 * implements it (LMDB) and so does {@link MemoryStateStore} for transient runtimes.
 *
 * Layout: per twin path, value-shaped lanes store one value under (path, lane); keyed
 * lanes store one value per (path, lane, key). Lane names starting with `$` are reserved
 * for runtime bookkeeping (timers, window accumulators).
 */
export type StateWrite =
  | { readonly op: 'put'; readonly path: string; readonly lane: string; readonly key?: string; readonly value: unknown }
  /** Deletes one key, or with no key every value and key of the lane. */
  | { readonly op: 'del'; readonly path: string; readonly lane: string; readonly key?: string };

/** What a store holds for one twin. */
export interface StoredTwin {
  readonly values: ReadonlyMap<string, unknown>;
  readonly entries: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

export interface StateStore {
  /** The stored state of a twin, or undefined when it has none. May be async for remote stores. */
  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined>;
  /**
   * Applies a batch atomically. Resolves once the batch is committed with the store's
   * durability; only then may the effects be acknowledged to the sender.
   */
  write(batch: readonly StateWrite[]): Promise<void>;
  /** Paths with stored state under `prefix` (a path text, or '' for all), in any order. */
  list(prefix: string): Iterable<string>;
  close(): Promise<void>;
}
