import type { TwinError } from '../errors.js';
import type { Ticket } from '../actors/work.js';
import { errorFromJson } from './shard-host.js';
import type { ErrorJson, ToWorker } from './worker-protocol.js';

/** A message sent to a worker and not answered yet, with who waits for the answer. */
export type Pending =
  | { kind: 'ticket'; ticket: Ticket; index: number; message: ToWorker; worker: number }
  | { kind: 'promise'; resolve: (v: unknown) => void; reject: (e: unknown) => void; message: ToWorker; worker: number };

/**
 * The messages sent to workers that wait for an answer, by id. An event or command
 * counts in its caller's ticket; any other request resolves a promise. Kept until the
 * answer comes, so a worker that dies gets them all again, in order, when it restarts
 * (see WorkerShardHost.restart); the per-twin dedupe window makes that idempotent.
 *
 * @example
 * ```ts
 * const result = await pending.request(worker, (id) => ({ t: 'read', id, path }), send);
 * ```
 */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;

  /** Messages still unanswered. */
  get size(): number {
    return this.pending.size;
  }

  /** A fresh id, for a request or a link (observer ids share the sequence). */
  nextId(): number {
    return ++this.lastId;
  }

  /** An event or command sent to `worker`: its answer counts in slot `index` of `ticket`. */
  addTicket(id: number, worker: number, message: ToWorker, ticket: Ticket, index: number): void {
    this.pending.set(id, { kind: 'ticket', ticket, index, message, worker });
  }

  /** Sends a request built with a fresh id to `worker` (through `send`); resolves with its answer. */
  request(
    worker: number,
    build: (id: number) => ToWorker,
    send: (worker: number, message: ToWorker) => void,
  ): Promise<unknown> {
    const id = this.nextId();
    const message = build(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: 'promise', resolve, reject, message, worker });
      send(worker, message);
    });
  }

  /** The answer to message `id` (an error, or a result); ignored for an id not pending (a resent message answered twice, or an id-less resend). */
  answer(id: number, errorJson: ErrorJson | undefined, result: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    const error = errorJson ? errorFromJson(errorJson) : undefined;
    if (p.kind === 'ticket') {
      p.ticket.done(p.index, error);
      if (p.ticket.complete) p.ticket.resolve(); // the worker answers after its commit
    } else if (error) p.reject(error);
    else p.resolve(result);
  }

  /** Answers message `id` with an error, if it is pending: its ticket slot is rejected, or its promise. */
  fail(id: number, error: TwinError): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.kind === 'ticket') {
      p.ticket.done(p.index, error);
      if (p.ticket.complete) p.ticket.resolve();
    } else p.reject(error);
  }

  /** Fails everything sent to `worker` (it cannot start). */
  failWorker(worker: number, error: TwinError): void {
    for (const [id, p] of this.pending) if (p.worker === worker) this.fail(id, error);
  }

  /**
   * The links a restarted `worker` gets again from their unanswered observe messages
   * (sent again with the ids their callers wait on): the oids of those still linked. One
   * unlinked meanwhile is answered as done and dropped (the last word wins).
   */
  resentLinks(worker: number, linked: (oid: number) => boolean): Set<number> {
    const resent = new Set<number>();
    for (const [id, p] of this.pending) {
      const m = p.message;
      if (p.worker !== worker || (m.t !== 'observe' && m.t !== 'observeFilter')) continue;
      if (linked(m.oid)) resent.add(m.oid);
      else if (p.kind === 'promise') {
        this.pending.delete(id);
        p.resolve(undefined);
      }
    }
    return resent;
  }

  /** The unanswered messages sent to `worker`, in the order they were sent. */
  *messagesOf(worker: number): Iterable<ToWorker> {
    for (const p of this.pending.values()) if (p.worker === worker) yield p.message;
  }
}
