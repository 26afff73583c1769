import { TwinError, toTwinError } from '../errors.js';
import type { StoredTwin } from '../store/state-store.js';
import type { CorruptRecords } from './corrupt-records.js';
import type { Twin } from './twin.js';
import type { TwinDirectory } from './twin-directory.js';
import type { Work } from './work.js';

/** Loads of one twin after damage its store set aside (a record, then its entries, and a spare). */
const MAX_CORRUPT_RELOADS = 3;

/** A twin's stored state as the directory loads it: now, or later from an asynchronous store. */
type Loaded = StoredTwin | undefined | Promise<StoredTwin | undefined>;

/** What activation needs from its shard. */
export interface LoaderDeps {
  readonly directory: TwinDirectory;
  readonly corrupt: CorruptRecords;
  /** Restores and starts a twin already in the live map; returns the twin that started. */
  start(twin: Twin, stored: StoredTwin | undefined): Twin;
  finish(work: Work, error?: TwinError): void;
  /** A twin's state loaded: the work that waited for it runs now, first, in arrival order. */
  resume(buffered: Work[]): void;
  /** Commits what the shard finished (the failed work of a load that failed later). */
  flush(): void;
  readonly closed: () => boolean;
}

/**
 * Finds or starts the twin a work item is for. A twin not live is created and its stored
 * state loaded; with an asynchronous store it waits in the loading map, buffering the
 * work that arrives for it meanwhile, and starts when the load resolves. A half-started
 * twin is never left behind: a load or start that fails drops it, so the next call tries
 * again instead of waiting on it forever.
 */
export class TwinLoader {
  /** Twins whose state is loading, with the work that arrived meanwhile (in order). */
  private readonly loading = new Map<Twin, Work[]>();

  constructor(private readonly deps: LoaderDeps) {}

  /** Twins still loading. */
  get size(): number {
    return this.loading.size;
  }

  /** The live twin for a work item, started if needed; null when the item was buffered (or failed). */
  activate(work: Work): Twin | null {
    const { directory } = this.deps;
    const twins = directory.live;
    const existing = twins.get(work.path);
    if (existing) {
      if (existing.state === 'active') return existing;
      this.loading.get(existing)!.push(work);
      return null;
    }
    // Work items carry canonical paths (see Work): not parsed again here.
    const path = work.path;
    const twin = directory.create(path);
    twins.set(path, twin);
    let stored: Loaded;
    try {
      stored = this.load(path);
    } catch (err) {
      twins.delete(path);
      this.deps.finish(work, toTwinError(err, 'TWIN_STORE_FAILED'));
      return null;
    }
    if (!(stored instanceof Promise)) {
      try {
        return this.deps.start(twin, stored); // a record its model cannot restore starts it fresh
      } catch (err) {
        // This call fails, the next tries again.
        twins.delete(path);
        this.deps.finish(work, toTwinError(err, 'TWIN_STORE_FAILED'));
        return null;
      }
    }
    this.loading.set(twin, [work]);
    const fail = (err: unknown): void => {
      twins.delete(twin.path);
      const error = new TwinError(
        'TWIN_STORE_FAILED',
        `loading ${twin.path} failed: ${(err as Error)?.message}`,
        undefined,
        { cause: err },
      );
      for (const w of this.loading.get(twin) ?? []) this.deps.finish(w, error);
      this.loading.delete(twin);
      this.deps.flush();
    };
    stored.then((s) => {
      if (this.deps.closed()) return;
      try {
        this.deps.start(twin, s);
      } catch (err) {
        return fail(err);
      }
      const buffered = this.loading.get(twin) ?? [];
      this.loading.delete(twin);
      this.deps.resume(buffered);
    }, fail);
    return null;
  }

  /**
   * A twin's stored state. A store that finds the bytes damaged moves them aside and throws
   * TWIN_RECORD_CORRUPT: that is logged once and counted (see {@link CorruptRecords}), and
   * the twin starts from what is left (nothing, for a damaged record). Loading again may
   * meet more damage (a bad record, then bad entries of the same twin): each round moves
   * some aside, so a few rounds end it; a store that keeps reporting the same damage fails
   * the call after {@link MAX_CORRUPT_RELOADS}.
   */
  load(path: string, reloads = 0): Loaded {
    let stored: Loaded;
    try {
      stored = this.deps.directory.load(path);
    } catch (err) {
      return this.loadAfterCorrupt(path, err, reloads);
    }
    // (A twin whose last stop is still committing loads once that commit is readable.)
    return stored instanceof Promise
      ? stored.catch((err: unknown) => this.loadAfterCorrupt(path, err, reloads))
      : stored;
  }

  private loadAfterCorrupt(path: string, err: unknown, reloads: number): Loaded {
    if (!(err instanceof TwinError) || err.code !== 'TWIN_RECORD_CORRUPT' || reloads >= MAX_CORRUPT_RELOADS) throw err;
    this.deps.corrupt.noteCorrupt(path, err, 'a stored record did not decode');
    return this.load(path, reloads + 1);
  }
}
