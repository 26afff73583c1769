import { monotonicMs } from './monotonic.js';

/**
 * The lease of every vshard as the main thread holds it, in memory shared with the worker
 * threads that run the vshards: epoch and "valid until" (monotonic ms) per vshard. The main
 * thread writes it at every acquisition, renewal and loss; a worker reads it before every
 * effect, so a worker stops acting for a vshard at the same instant the main thread would
 * (the same monotonic clock: hrtime is per machine, not per thread).
 *
 * @example
 * ```ts
 * const view = new LeaseView(new SharedArrayBuffer(LeaseView.bytes(256)), 256);
 * view.set(17, 4711, monotonicMs() + 4000);
 * view.valid(17, 4711); // true for about 4 s
 * ```
 */
export class LeaseView {
  private readonly slots: Float64Array;

  /** Bytes of shared memory for `vshards` vshards. */
  static bytes(vshards: number): number {
    return vshards * 2 * Float64Array.BYTES_PER_ELEMENT;
  }

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly vshards: number,
  ) {
    this.slots = new Float64Array(buffer, 0, vshards * 2);
  }

  /** Held under `epoch` until `validUntil`. The deadline is written first, the epoch last. */
  set(vshard: number, epoch: number, validUntil: number): void {
    this.slots[vshard * 2 + 1] = validUntil;
    this.slots[vshard * 2] = epoch;
  }

  /** Not held (lost, released, expired). */
  clear(vshard: number): void {
    this.slots[vshard * 2 + 1] = 0;
    this.slots[vshard * 2] = 0;
  }

  /** The epoch of this node's lease on `vshard` while it is valid now; undefined otherwise. */
  held(vshard: number): number | undefined {
    const epoch = this.slots[vshard * 2]!;
    return this.valid(vshard, epoch) ? epoch : undefined;
  }

  /** Whether this node may act for `vshard` under `epoch` now. */
  valid(vshard: number, epoch: number): boolean {
    return this.slots[vshard * 2] === epoch && epoch !== 0 && monotonicMs() < this.slots[vshard * 2 + 1]!;
  }
}
