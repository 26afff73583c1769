import { TwinError } from '../errors.js';
import type { StateStore, StateWrite } from '../lanes/index.js';
import type { DerivedEvent } from './model.js';
import type { Ticket } from './work.js';

interface Group {
  writes: StateWrite[];
  tickets: Ticket[];
  outputs: DerivedEvent[];
  stopped: string[];
}

/**
 * Group commit: each shard step hands over its writes, the tickets it completed and the
 * derived events it produced. While one commit is in flight, later steps queue up and go
 * together in the next one, so disk latency turns into larger batches rather than lower
 * throughput. Tickets resolve and outputs leave only after their writes are committed.
 */
export class GroupCommit {
  private queued: Group | null = null;
  private inFlight: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  commits = 0;

  constructor(
    private readonly store: StateStore,
    private readonly onCommitted: (outputs: DerivedEvent[], stopped: string[]) => void,
    private readonly onFailed: (error: TwinError) => void,
  ) {}

  get busy(): boolean {
    return this.inFlight !== null || this.queued !== null;
  }

  submit(writes: StateWrite[], tickets: Ticket[], outputs: DerivedEvent[], stopped: string[]): void {
    if (writes.length === 0 && tickets.length === 0 && outputs.length === 0 && stopped.length === 0) return;
    if (!this.queued) {
      // The usual case: adopt the step's arrays instead of copying them.
      this.queued = { writes, tickets, outputs, stopped };
      if (!this.inFlight) this.start();
      return;
    }
    const q = this.queued;
    for (const w of writes) q.writes.push(w);
    for (const t of tickets) q.tickets.push(t);
    for (const o of outputs) q.outputs.push(o);
    for (const s of stopped) q.stopped.push(s);
    if (!this.inFlight) this.start();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private start(): void {
    const group = this.queued!;
    this.queued = null;
    const write = group.writes.length > 0 ? this.store.write(group.writes) : Promise.resolve();
    this.inFlight = write.then(
      () => {
        this.commits++;
        for (const t of group.tickets) if (t.complete) t.resolve();
        this.onCommitted(group.outputs, group.stopped);
      },
      (err: unknown) => {
        const error = new TwinError('TWIN_STORE_FAILED', `commit of ${group.writes.length} writes failed: ${(err as Error)?.message ?? err}`, undefined, { cause: err });
        for (const t of group.tickets) t.fail(error);
        this.onFailed(error);
      },
    ).finally(() => {
      this.inFlight = null;
      if (this.queued) this.start();
      else for (const w of this.waiters.splice(0)) w();
    });
  }
}
