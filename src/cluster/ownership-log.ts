import { appendFileSync } from 'node:fs';

/** One period in which a node was the active owner of a vshard (`end` absent: the line of its start). */
export interface OwnershipInterval {
  readonly node: string;
  readonly vshard: number;
  readonly epoch: number;
  /** process.hrtime.bigint() at the start and end, as decimal strings (ns, CLOCK_MONOTONIC). */
  readonly start: string;
  readonly end?: string;
  readonly reason?: string;
}

/**
 * Appends (vshard, epoch, start, end) of every ownership period to a JSON-lines file: a
 * line when it starts and one when it ends (a killed node leaves its last periods open;
 * they ended when it died). The record the failover tests check for overlaps (two
 * nodes active for one vshard at once) and increasing epochs. The times are on the
 * machine's monotonic clock, comparable between processes of one machine. An audit aid;
 * without a file it records nothing.
 */
export class OwnershipLog {
  constructor(
    private readonly node: string,
    private readonly file: string | undefined,
  ) {}

  started(vshard: number, epoch: number, startNs: bigint): void {
    if (this.file === undefined) return;
    const line: OwnershipInterval = { node: this.node, vshard, epoch, start: startNs.toString() };
    appendFileSync(this.file, JSON.stringify(line) + '\n');
  }

  record(vshard: number, epoch: number, startNs: bigint, endNs: bigint, reason: string): void {
    if (this.file === undefined) return;
    const line: OwnershipInterval = {
      node: this.node,
      vshard,
      epoch,
      start: startNs.toString(),
      end: endNs.toString(),
      reason,
    };
    appendFileSync(this.file, JSON.stringify(line) + '\n');
  }
}

/** ns on the monotonic clock for a {@link monotonicMs} time. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}
