import type { TwinError } from '../errors.js';
import type { TwinEvent } from '../model/twin-model.js';
import type { Twin } from './twin.js';
import type { JoinUpdates } from './join-buffer.js';

/**
 * Tracks one caller's batch (an ingest call, a command, a read) through the shard: it
 * settles after every item was processed AND the commit holding their effects finished,
 * which is what "acknowledged means durable" needs.
 */
export class Ticket<R = unknown> {
  remaining: number;
  rejected: { index: number; error: TwinError }[] = [];
  result: R | undefined;
  private settled = false;
  readonly promise: Promise<Ticket<R>>;
  private resolveFn!: (t: Ticket<R>) => void;
  private rejectFn!: (e: unknown) => void;

  constructor(count: number) {
    this.remaining = count;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** One item finished (with an error when it was rejected or its turn failed). */
  done(index: number, error?: TwinError): void {
    if (error) this.rejected.push({ index, error });
    this.remaining--;
  }

  get complete(): boolean {
    return this.remaining <= 0;
  }

  /** Called after the commit that covers the last item. */
  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(this);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(error);
  }
}

/** A unit of work in a shard's inbox. Paths are already normalised. */
export type Work =
  | {
      readonly kind: 'event';
      readonly path: string;
      readonly event: TwinEvent;
      readonly ticket: Ticket | null;
      readonly index: number;
      /**
       * Cluster mode: the event's sequence in its vshard's input stream. The twin keeps the
       * highest it applied in its record (`$seq`), so a new owner replaying the stream from
       * there applies nothing twice.
       */
      readonly seq?: number;
    }
  | {
      readonly kind: 'command';
      readonly path: string;
      readonly lane: string;
      readonly value: unknown;
      readonly ticket: Ticket | null;
      readonly index: number;
      /** The client's idempotency key: a repeat within the twin's dedupe window runs no turn. */
      readonly key?: string;
    }
  | { readonly kind: 'timer'; readonly path: string; readonly name: string; readonly due: number }
  | { readonly kind: 'call'; readonly path: string; readonly fn: (twin: Twin) => unknown; readonly ticket: Ticket }
  /** `released`: a link that had started the twin closed; it stops only if no exact link watches it then. */
  | { readonly kind: 'stop'; readonly path: string; readonly ticket: Ticket | null; readonly released?: boolean }
  /** Starts stored twins under `path` (a chunk of a `Runtime.warm`), after `after` in path order. */
  | {
      readonly kind: 'warm';
      readonly path: string;
      readonly after: string | undefined;
      readonly owned: boolean;
      readonly ticket: Ticket<WarmChunk>;
    }
  | { readonly kind: 'joins'; readonly path: string; readonly updates: JoinUpdates };

/** What one warm chunk did: twins started, the last path it scanned, whether the scan ended. */
export interface WarmChunk {
  started: number;
  last: string | undefined;
  done: boolean;
}
