import { toTwinError, type TwinError } from '../../errors.js';
import type { EventInput } from '../../actors/event-input.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { BadInput, InputNote } from './bad-input.js';

const PLACEHOLDER: EventInput = { subject: '/' };

/** Called once the event is committed (`null`) or rejected (the error; already dead-lettered). */
export type IngestDone = (error: TwinError | null) => void;

export interface IngestQueueOptions {
  /** Events per `Runtime.ingest` call (default 4096). */
  maxBatch?: number;
  /** Events submitted but not yet committed before {@link IngestQueue.full} turns true (default 50 000). */
  maxPending?: number;
}

/**
 * Batches single events from the network fronts into `Runtime.ingest` calls.
 *
 * One ingest call (one ticket, one promise) per event would cost more than the event's
 * own turn; MQTT delivers a socket read's worth of PUBLISH packets in one synchronous
 * burst, so collecting until `setImmediate` turns a burst into one batch and one group
 * commit. Callbacks run in submission order (group commits complete in order), which
 * keeps QoS 1 PUBACKs in PUBLISH order as MQTT requires. `full` lets a front stop
 * reading its socket so a fast publisher meets TCP backpressure instead of growing memory.
 *
 * @example
 * ```ts
 * const q = new IngestQueue(rt, badInput);
 * q.push({ subject: '/org/a/site/b', data: {} }, { origin: 'mqtt', where: 'org/a/site/b' }, (err) => ack(err));
 * ```
 */
export class IngestQueue {
  private inputs: EventInput[] = [];
  private notes: InputNote[] = [];
  private dones: (IngestDone | undefined)[] = [];
  /** Entries of the current batch that failed before ingest (decoding), by index; usually null. */
  private failed: Map<number, TwinError> | null = null;
  private scheduled = false;
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly maxPending: number;
  /** Events committed and rejected so far. */
  committed = 0;
  rejected = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly bad: BadInput,
    options: IngestQueueOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 4096;
    this.maxPending = options.maxPending ?? 50_000;
  }

  /** True when a model is routed to `path` (see Runtime.isRouted). */
  isRouted(path: string): boolean {
    return this.rt.isRouted(path);
  }

  /** Submits one event; `done` (optional for QoS 0) learns its outcome after commit. */
  push(input: EventInput, note: InputNote, done?: IngestDone): void {
    this.inputs.push(input);
    this.notes.push(note);
    this.dones.push(done);
    this.inFlight++;
    if (this.inputs.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Records an input that failed before it could be ingested (undecodable): it is
   * dead-lettered now, and `done` is called in submission order with the others, so a
   * rejected PUBLISH is not answered ahead of earlier ones still waiting for their commit.
   */
  pushRejected(error: TwinError, note: InputNote, done?: IngestDone): void {
    this.bad.report(error, note);
    this.rejected++;
    if (!done) return;
    (this.failed ??= new Map()).set(this.inputs.length, error);
    this.push(PLACEHOLDER, note, done);
  }

  /**
   * Answers `done` with `error` in submission order, like {@link pushRejected}, for input
   * refused for a reason that is not the input's fault (the sender's rate): not
   * dead-lettered, not counted as rejected. With nothing pending it answers at once.
   */
  pushRefused(error: TwinError, done: IngestDone): void {
    if (this.inFlight === 0 && this.inputs.length === 0) return done(error);
    (this.failed ??= new Map()).set(this.inputs.length, error);
    this.push(PLACEHOLDER, { origin: 'mqtt' }, done);
  }

  /** True while more than `maxPending` events wait for their commit. */
  get full(): boolean {
    return this.inFlight >= this.maxPending;
  }

  /** Events submitted and not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  /** Calls `fn` once the queue is below its bound (at once if it already is). */
  whenNotFull(fn: () => void): void {
    if (!this.full) fn();
    else this.waiters.push(fn);
  }

  /** Resolves once every submitted event has been answered. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.inputs.length === 0) return;
    const all = this.inputs,
      notes = this.notes,
      dones = this.dones,
      failed = this.failed;
    this.inputs = [];
    this.notes = [];
    this.dones = [];
    this.failed = null;
    const inputs = failed === null ? all : all.filter((_, i) => !failed.has(i));
    let report;
    try {
      report = this.rt.ingest(inputs);
    } catch (err) {
      report = Promise.reject(err);
    }
    report.then(
      (r) => {
        let next = r.rejected.length > 0 ? 0 : -1;
        for (let i = 0, j = 0; i < all.length; i++) {
          const early = failed?.get(i);
          if (early !== undefined) {
            dones[i]?.(early);
            continue;
          }
          const rejection = next >= 0 ? r.rejected[next] : undefined;
          if (rejection && rejection.index === j) {
            next++;
            this.rejected++;
            this.bad.report(rejection.error, notes[i]!, all[i]);
            dones[i]?.(rejection.error);
          } else {
            this.committed++;
            dones[i]?.(null);
          }
          j++;
        }
        this.settle(all.length);
      },
      (err: unknown) => {
        // The runtime could not take the batch at all (closed, store failure): every event
        // of it fails, and the senders learn it (QoS 1 is not acknowledged; HTTP gets 503).
        const error = toTwinError(err, 'TWIN_STORE_FAILED');
        for (let i = 0; i < all.length; i++) {
          const early = failed?.get(i);
          if (early === undefined) {
            this.rejected++;
            this.bad.report(error, notes[i]!, all[i]);
          }
          dones[i]?.(early ?? error);
        }
        this.settle(all.length);
      },
    );
  };

  private settle(n: number): void {
    this.inFlight -= n;
    while (!this.full && this.waiters.length > 0) this.waiters.shift()!();
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
