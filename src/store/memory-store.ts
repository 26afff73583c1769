import type { JournalEntry, StateStore, StateWrite, StoredTwin } from './state-store.js';

interface MutableTwin {
  values: Readonly<Record<string, unknown>>;
  entries: Map<string, Map<string, unknown>>;
}

/**
 * An in-memory {@link StateStore}: state survives passivation and twin restarts within
 * the process, not process restarts. The default when no data directory is configured,
 * and what unit tests use when they test actor semantics rather than disk.
 * Values are stored by reference: lane values are immutable by contract.
 *
 * @example
 * ```ts
 * const rt = createRuntime({ models, store: new MemoryStateStore() });
 * ```
 */
export class MemoryStateStore implements StateStore {
  private readonly twins = new Map<string, MutableTwin>();
  private readonly journal = new Map<string, JournalEntry[]>();
  private loadDelayMs = 0;
  /** Count of committed batches, for tests and metrics. */
  commits = 0;

  /** Makes `load` asynchronous with a delay, as a remote store would be. */
  withLoadDelay(ms: number): this {
    this.loadDelayMs = ms;
    return this;
  }

  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined> {
    const twin = this.twins.get(path);
    if (this.loadDelayMs <= 0) return twin;
    return new Promise((resolve) => setTimeout(() => resolve(twin), this.loadDelayMs));
  }

  async write(batch: readonly StateWrite[]): Promise<void> {
    for (const w of batch) this.apply(w);
    this.commits++;
  }

  /** A transient store has nowhere to keep bad state: it is dropped (see {@link StateStore.quarantine}). */
  /** Drops everything held for `path` (a cluster node that no longer owns it keeps nothing behind). */
  forget(path: string): void {
    this.twins.delete(path);
    this.journal.delete(path);
  }

  /** The stored twin as writes that recreate it in an empty store (a cluster snapshot). */
  dump(path: string): StateWrite[] {
    const twin = this.twins.get(path);
    if (twin === undefined) return [];
    const out: StateWrite[] = [{ op: 'record', path, values: twin.values, created: true }];
    for (const [lane, entries] of twin.entries)
      for (const [key, value] of entries) out.push({ op: 'put', path, lane, key, value });
    return out;
  }

  quarantine(path: string, _reason: unknown): string[] {
    this.twins.delete(path);
    return [];
  }

  *list(prefix: string): Iterable<string> {
    for (const path of this.twins.keys())
      if (prefix === '' || path === prefix || path.startsWith(prefix + '/')) yield path;
  }

  history(path: string, from: number, to: number): JournalEntry[] {
    return (this.journal.get(path) ?? []).filter((e) => e.time >= from && e.time <= to);
  }

  async close(): Promise<void> {}

  private twin(path: string): MutableTwin {
    let twin = this.twins.get(path);
    if (!twin) this.twins.set(path, (twin = { values: {}, entries: new Map() }));
    return twin;
  }

  private apply(w: StateWrite): void {
    switch (w.op) {
      case 'record':
        this.twin(w.path).values = w.values;
        break;
      case 'put': {
        const twin = this.twin(w.path);
        let m = twin.entries.get(w.lane);
        if (!m) twin.entries.set(w.lane, (m = new Map()));
        m.set(w.key, w.value);
        break;
      }
      case 'journal': {
        const list = this.journal.get(w.path) ?? [];
        list.push(w.entry);
        this.journal.set(w.path, list);
        break;
      }
      case 'del': {
        const entries = this.twins.get(w.path)?.entries;
        if (w.key === undefined) entries?.delete(w.lane);
        else entries?.get(w.lane)?.delete(w.key);
        break;
      }
    }
  }
}
