import { TwinError } from '../errors.js';
import type { ShardHost, TwinSnapshot } from '../hosting/shard-host.js';
import { HISTORY_POSITION, type HistoryPage } from '../store/state-store.js';
import { RollBack } from './time-travel.js';

/** Entries of one {@link Runtime.history} page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_HISTORY_LIMIT = 1000;
export const MAX_HISTORY_LIMIT = 10_000;
/**
 * Most journal entries {@link Runtime.readAt} rolls back (default of its `maxEntries`):
 * rebuilding an older state is refused with TWIN_QUERY_INVALID rather than reading a
 * journal of any length (a busy sensor journals hundreds of thousands of turns a week).
 */
export const MAX_ROLLBACK_ENTRIES = 100_000;
/** Entries {@link Runtime.readAt} reads per round from the store (a worker's answer stays small). */
const ROLLBACK_CHUNK = 1000;

/** Options of {@link Runtime.history}. */
export interface HistoryOptions {
  /** Earliest clock time, inclusive (default 0). */
  from?: number;
  /** Latest clock time, inclusive (default: none). */
  to?: number;
  /** Most entries in the page: 1 to {@link MAX_HISTORY_LIMIT}, default {@link DEFAULT_HISTORY_LIMIT}. */
  limit?: number;
  /** The `next` of the previous page of the same twin: this page goes on after it. */
  cursor?: string;
}

/** Options of {@link Runtime.readAt}. */
export interface ReadAtOptions {
  /** Most journal entries to roll back (default {@link MAX_ROLLBACK_ENTRIES}); past it, TWIN_QUERY_INVALID. */
  maxEntries?: number;
}

/**
 * Reads of a twin's journal for a runtime: its history in pages, and its state as of a
 * time, rolled back from now through the journal. Paths are canonical; the runtime checks
 * that the journal is on before it asks.
 *
 * @example
 * ```ts
 * const reads = new JournalReads(host, (path) => runtime.read(path));
 * await reads.readAt('/room/1', Date.parse('2026-12-01T00:00:00Z'));
 * ```
 */
export class JournalReads {
  constructor(
    private readonly host: ShardHost,
    /** The twin's current state (Runtime.read): what a rollback starts from. */
    private readonly read: (path: string) => Promise<TwinSnapshot>,
  ) {}

  /**
   * One page of a twin's journal between two clock times (inclusive), oldest first: each
   * committed turn with its cause and lane changes, at most `limit` of them. `next` is the
   * cursor of the following page (null when there is none): a journal can hold far more
   * turns than one answer should, so only a page is read from the store and crosses from
   * a worker. Pages follow the journal as it is when each is read: an entry written meanwhile
   * is neither skipped nor repeated. Rejects with TWIN_QUERY_INVALID for a bad `limit` or
   * `cursor`. `path` is canonical.
   */
  async history(path: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT)
      throw new TwinError(
        'TWIN_QUERY_INVALID',
        `"limit" must be an integer from 1 to ${MAX_HISTORY_LIMIT}, got ${limit}`,
      );
    const cursor = options.cursor;
    // A cursor is a store position: checked here, before it reaches the store (or a worker).
    if (cursor !== undefined && !HISTORY_POSITION.test(cursor))
      throw new TwinError('TWIN_QUERY_INVALID', 'cursor is not one this server issued');
    return this.host.history(path, {
      from: options.from ?? 0,
      to: options.to ?? Number.MAX_SAFE_INTEGER,
      limit,
      ...(cursor !== undefined && { after: cursor }),
    });
  }

  /**
   * A twin's state as of clock time `at`: its current state rolled back through the
   * journal entries after `at`, newest first. Exact within the journal's retention. The
   * journal is read backwards from now in chunks and each chunk undone before the next is
   * read, so memory stays at one chunk; more than `maxEntries` entries to undo (default
   * {@link MAX_ROLLBACK_ENTRIES}) is refused with TWIN_QUERY_INVALID, naming the bound.
   */
  async readAt(path: string, at: number, options: ReadAtOptions = {}): Promise<TwinSnapshot> {
    const max = options.maxEntries ?? MAX_ROLLBACK_ENTRIES;
    if (!Number.isInteger(max) || max < 0)
      throw new TwinError('TWIN_QUERY_INVALID', `"maxEntries" must be a non-negative integer, got ${max}`);
    // Counted first (keys only): a read past the bound is refused before anything is decoded
    // or undone, so asking for a time too far back costs a count, not the rollback.
    const { count } = await this.host.history(path, {
      from: at + 1,
      to: Number.MAX_SAFE_INTEGER,
      limit: max + 1, // "more than max" is all the count must tell
      countOnly: true,
    });
    if (count !== undefined && count > max) throw tooFarBack(path, at, max);
    const snapshot = await this.read(path);
    // Entries written after the read are undone first: each restores what the read saw.
    const state = new RollBack(snapshot);
    let after: string | undefined;
    for (;;) {
      const page = await this.host.history(path, {
        from: at + 1,
        to: Number.MAX_SAFE_INTEGER,
        // One past the bound, to tell "exactly max" from "more".
        limit: Math.min(ROLLBACK_CHUNK, max + 1 - state.undone),
        newestFirst: true,
        ...(after !== undefined && { after }),
      });
      state.undo(page.entries);
      if (state.undone > max) throw tooFarBack(snapshot.path, at, max); // entries appended since the count
      if (page.next === null) return state.result();
      after = page.next;
      // Between chunks: with the shard on this thread, a long rollback must not hold up other requests.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

/** The refusal of a past-state read that would undo more than `max` journal entries. */
function tooFarBack(path: string, at: number, max: number): TwinError {
  return new TwinError(
    'TWIN_QUERY_INVALID',
    `the state of ${path} as of ${timeText(at)} would roll back more than ${max} journal entries (the bound of a past-state read): ask for a later time, or page through its history`,
    { path, at, maxEntries: max },
  );
}

/** A clock time in an error message: RFC 3339 when it is a date, else the number. */
function timeText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
