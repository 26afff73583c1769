import type { Ticket } from '../actors/work.js';
import type { TwinEvent } from '../model/twin-model.js';

type Listener = (events: readonly TwinEvent[]) => void;

/** One ingest (or command) call's events, reported once its commit settled. */
export interface Seen {
  readonly events: (TwinEvent | undefined)[];
  done: boolean;
}

/**
 * Runtime.onIngested: reports each ingest call's accepted events once their effects are
 * committed, in arrival order across concurrent calls (a later call can commit first, in
 * another step: it waits here until the earlier ones are reported). Only while someone
 * listens (a recorder) does a call pay for this: otherwise {@link track} returns null.
 */
export class IngestedListeners {
  private readonly listeners = new Set<Listener>();
  /** Calls awaiting commit while someone listens, in call (arrival) order. */
  private readonly queue: Seen[] = [];

  add(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether anyone listens. */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** A call of `count` events starts (null when nobody listens); fill in its events as they are accepted. */
  track(count: number): Seen | null {
    if (this.listeners.size === 0) return null;
    return this.push(new Array<TwinEvent | undefined>(count));
  }

  /** A call of the given events starts (a command reported as an event). */
  push(events: (TwinEvent | undefined)[]): Seen {
    const seen = { events, done: false };
    this.queue.push(seen);
    return seen;
  }

  /** Awaits a call's commit, then reports what it accepted. */
  async committed(ticket: Ticket, seen: Seen | null): Promise<void> {
    try {
      await ticket.promise;
    } catch (err) {
      if (seen) this.report(seen, null);
      throw err;
    }
    if (seen) this.report(seen, ticket.rejected);
  }

  /** The call settled: `rejected` null, the whole call failed and nothing of it is reported. */
  report(seen: Seen, rejected: readonly { index: number }[] | null): void {
    if (rejected === null) seen.events.length = 0;
    else for (const r of rejected) seen.events[r.index] = undefined;
    seen.done = true;
    while (this.queue[0]?.done) {
      const accepted = this.queue.shift()!.events.filter((e): e is TwinEvent => e !== undefined);
      if (accepted.length > 0) for (const l of this.listeners) l(accepted);
    }
  }
}
