import type { ToWorker } from './worker-protocol.js';

/**
 * Joins and commands that cross from one worker to another (a child's join value for a
 * parent another worker owns, a command to a twin there). Live, they go on at once. On a
 * simulated clock they are held until every worker finished the step (see
 * WorkerShardHost.settle), then delivered together, so a parent applies all of a step's
 * child updates in one turn, exactly as one shard does: that is what makes derived events
 * independent of the worker count.
 *
 * @example
 * ```ts
 * crossing.forward(routes.of(m.parent), { t: 'join', parent: m.parent, lane: m.lane, child: m.child, value: m.value });
 * if (crossing.releaseHeld()) continue; // settle: another round, the held messages are on their way
 * ```
 */
export class WorkerCrossing {
  /** Messages forwarded so far (settle is quiet only when a round forwarded none). */
  forwarded = 0;
  private readonly held: [number, ToWorker][] = [];

  constructor(
    /** Hold messages until the step ends (simulated clock). */
    private readonly holdUntilSettled: boolean,
    private readonly send: (worker: number, message: ToWorker) => void,
  ) {}

  forward(worker: number, message: ToWorker): void {
    this.forwarded++;
    if (!this.holdUntilSettled) this.send(worker, message);
    else this.held.push([worker, message]);
  }

  /** Every worker finished the step: sends what crossed between them, together. False when nothing was held. */
  releaseHeld(): boolean {
    if (this.held.length === 0) return false;
    for (const [worker, message] of this.held.splice(0)) this.send(worker, message);
    return true;
  }
}
