import { PathMap } from '../topology/path-map.js';
import { MemoryJournal } from './memory-journal.js';
import {
  type HistoryPage,
  type HistoryQuery,
  type LiveRecord,
  type LiveRecords,
  type StateStore,
  type StateWrite,
  type StoredTwin,
} from './state-store.js';

interface MutableTwin {
  values: Readonly<Record<string, unknown>>;
  entries: Map<string, Map<string, unknown>>;
  /** While set, record and entries are this live twin's (see {@link LiveRecords}); `values` and `entries` are stale. */
  source: LiveRecord | undefined;
}

/**
 * An in-memory {@link StateStore}: state survives passivation and twin restarts within
 * the process, not process restarts. The default when no data directory is configured,
 * and what unit tests use when they test actor semantics rather than disk.
 * Values are stored by reference: lane values are immutable by contract. The record of a
 * live twin is held as a reference to the twin and built when read ({@link LiveRecords}),
 * so a busy twin costs no record object per step; its final record is written when it stops.
 *
 * @example
 * ```ts
 * const rt = createRuntime({ models, store: new MemoryStateStore() });
 * ```
 */
export class MemoryStateStore implements StateStore, LiveRecords {
  private readonly twins = new PathMap<MutableTwin>();
  private readonly journal: MemoryJournal;
  private loadDelayMs = 0;
  /** Count of committed batches, for tests and metrics. */
  commits = 0;

  /** `journalRetentionMs`: how long journal entries are kept before a twin's newest (default 7 days, as on LMDB). */
  constructor(options: { journalRetentionMs?: number } = {}) {
    this.journal = new MemoryJournal(options.journalRetentionMs);
  }

  /** Makes `load` asynchronous with a delay, as a remote store would be. */
  withLoadDelay(ms: number): this {
    this.loadDelayMs = ms;
    return this;
  }

  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined> {
    const twin = this.twins.get(path);
    const stored = twin?.source ? this.heldState(twin) : twin;
    if (stored === null) return this.later(path); // a step is changing the twin: its committed record follows that step
    if (this.loadDelayMs <= 0) return stored;
    return new Promise((resolve) => setTimeout(() => resolve(stored), this.loadDelayMs));
  }

  /**
   * Held records only while writes are this class's own (commit at once, never fail): a
   * subclass that delays or fails them (tests do) must see every record as a write.
   */
  liveRecords(): LiveRecords | undefined {
    return this.write === MemoryStateStore.prototype.write ? this : undefined;
  }

  holdLive(path: string, source: LiveRecord): void {
    const twin = this.twin(path);
    twin.source = source;
    twin.entries = new Map(); // read from the source while it is held (the source restored these)
  }

  async write(batch: readonly StateWrite[]): Promise<void> {
    for (const w of batch) this.apply(w);
    this.commits++;
  }

  /** A transient store has nowhere to keep bad state: it is dropped (see {@link StateStore.quarantine}). */
  /** Drops everything held for `path` (a cluster node that no longer owns it keeps nothing behind). */
  forget(path: string): void {
    this.twins.delete(path);
    this.journal.forget(path);
  }

  /** The stored twin as writes that recreate it in an empty store (a cluster snapshot). */
  dump(path: string): StateWrite[] {
    const held = this.twins.get(path);
    const twin = held?.source ? this.heldState(held) : held;
    if (twin === undefined) return [];
    if (twin === null) throw new Error(`the record of ${path} is being changed by a step`);
    const out: StateWrite[] = [{ op: 'record', path, values: twin.values, created: true }];
    for (const [lane, entries] of twin.entries)
      for (const [key, value] of entries) out.push({ op: 'put', path, lane, key, value });
    return out;
  }

  quarantine(path: string, _reason: unknown): string[] {
    this.twins.delete(path);
    return [];
  }

  list(prefix: string): Iterable<string> {
    return this.twins.pathsUnder(prefix);
  }

  /** One page of a twin's journal (see {@link MemoryJournal.history}). */
  history(path: string, query: HistoryQuery): HistoryPage {
    return this.journal.history(path, query);
  }

  async close(): Promise<void> {}

  private twin(path: string): MutableTwin {
    let twin = this.twins.get(path);
    if (!twin) this.twins.set(path, (twin = { values: {}, entries: new Map(), source: undefined }));
    return twin;
  }

  /** A held twin's stored state now; null while a step is changing it. */
  private heldState(twin: MutableTwin): StoredTwin | null {
    return twin.source!.committedState() ?? null;
  }

  /** The load of a held twin a step is changing: read again once the step ended (steps run synchronously). */
  private later(path: string): Promise<StoredTwin | undefined> {
    return new Promise((resolve) => setImmediate(resolve)).then(() => this.load(path));
  }

  private apply(w: StateWrite): void {
    switch (w.op) {
      case 'record': {
        const twin = this.twin(w.path);
        if (twin.source) {
          // The held twin stopped: its entries become values here (this batch's puts are in them).
          const state = twin.source.committedState();
          if (state) twin.entries = state.entries as Map<string, Map<string, unknown>>;
          twin.source = undefined;
        }
        twin.values = w.values;
        break;
      }
      case 'put': {
        const twin = this.twin(w.path);
        let m = twin.entries.get(w.lane);
        if (!m) twin.entries.set(w.lane, (m = new Map()));
        m.set(w.key, w.value);
        break;
      }
      case 'journal':
        this.journal.append(w.path, w.entry);
        break;
      case 'del': {
        const entries = this.twins.get(w.path)?.entries;
        if (w.key === undefined) entries?.delete(w.lane);
        else entries?.get(w.lane)?.delete(w.key);
        break;
      }
    }
  }
}
