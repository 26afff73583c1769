import type { KV } from '@nats-io/kv';
import type { TwinLogger } from '../model/twin-model.js';
import { leaseMargin } from './cluster-options.js';
import type { LeaseView } from './lease-view.js';
import { monotonicMs } from './monotonic.js';

/** One vshard this node holds. */
export interface Lease {
  readonly vshard: number;
  /** The revision `create` returned: the fencing token, larger for every later owner. */
  readonly epoch: number;
  /** The key's current revision (what the next renewal compares and sets). */
  revision: number;
  /** Monotonic ms until which this node may act for the vshard. */
  validUntil: number;
  /** Monotonic ms of the acquisition. */
  readonly since: number;
}

const encoder = new TextEncoder();

/**
 * This node's leases on vshards, in the `<space>-leases` bucket (key `v.<n>`). Taken with
 * `create` (fails while another node's lease lives), renewed with `update` at the
 * expected revision (compare-and-set), gone `leaseMs` after the last renewal the server
 * stored. A lease counts as valid only until `sent + leaseMs - margin`, where `sent` is
 * when the last successful renewal was *sent*: the server's expiry comes later than
 * that, so this node has stopped before anyone else can take the vshard. A process
 * frozen for longer (a GC pause, SIGSTOP) finds its leases invalid when it wakes and
 * acts on none of them; {@link valid} is the gate every effect passes.
 *
 * @example
 * ```ts
 * const lease = await leases.acquire(17); // undefined when another node holds it
 * if (leases.valid(17, lease.epoch)) commit();
 * ```
 */
export class LeaseTable {
  private readonly held = new Map<number, Lease>();
  /** Leases with a renewal in flight (one at a time each). */
  private readonly renewing = new Set<Lease>();
  /** Vshards a renewal found taken, reported by the next {@link renewAll}. */
  private readonly lost = new Set<number>();
  private readonly margin: number;

  constructor(
    private readonly bucket: KV,
    private readonly nodeId: string,
    private readonly leaseMs: number,
    private readonly log: TwinLogger,
    /** Shared with worker threads that run vshards (see {@link LeaseView}): kept equal to this table. */
    private readonly view?: LeaseView,
  ) {
    this.margin = leaseMargin(leaseMs);
  }

  /** Takes the vshard's lease if nobody holds it; undefined if someone does (or NATS failed). */
  async acquire(vshard: number): Promise<Lease | undefined> {
    if (this.held.has(vshard)) return this.held.get(vshard);
    const sent = monotonicMs();
    let revision: number;
    try {
      revision = await this.bucket.create(`v.${vshard}`, this.value(vshard));
    } catch (err) {
      if (!isWrongSequence(err)) this.log.warn({ vshard, err: (err as Error).message }, 'cluster: lease create failed');
      return undefined;
    }
    const lease = { vshard, epoch: revision, revision, validUntil: sent + this.leaseMs - this.margin, since: sent };
    this.held.set(vshard, lease);
    this.view?.set(vshard, lease.epoch, lease.validUntil);
    return lease;
  }

  /**
   * Renews every held lease that has no renewal in flight, waiting for them at most
   * `waitMs`. Returns the vshards lost: another node's write won the compare-and-set (or
   * the key expired), or the lease ran past its validity while renewals failed. The
   * caller stops those at once. A renewal that takes longer (a server answering slowly in
   * an election) goes on meanwhile: the next round must not wait for it, or every other
   * lease would run out behind it.
   */
  async renewAll(waitMs: number): Promise<number[]> {
    const rounds = [...this.held.values()].filter((l) => !this.renewing.has(l)).map((l) => this.renew(l));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(rounds),
      new Promise((r) => {
        timer = setTimeout(r, waitMs);
      }),
    ]);
    clearTimeout(timer);
    const lost = [...this.lost];
    this.lost.clear();
    return [...lost, ...this.expired()].filter((v, i, all) => all.indexOf(v) === i && this.held.has(v));
  }

  private async renew(lease: Lease): Promise<void> {
    this.renewing.add(lease);
    const sent = monotonicMs();
    try {
      const revision = await this.bucket.update(`v.${lease.vshard}`, this.value(lease.vshard), lease.revision);
      // Dropped meanwhile (released or expired): this renewal must not revive it.
      if (this.held.get(lease.vshard) !== lease) return;
      lease.revision = revision;
      if (sent < lease.validUntil) {
        lease.validUntil = sent + this.leaseMs - this.margin;
        this.view?.set(lease.vshard, lease.epoch, lease.validUntil);
      }
    } catch (err) {
      if (this.held.get(lease.vshard) !== lease) return;
      if (isWrongSequence(err)) this.lost.add(lease.vshard);
      else this.log.warn({ vshard: lease.vshard, err: (err as Error).message }, 'cluster: lease renewal failed');
    } finally {
      this.renewing.delete(lease);
    }
  }

  /** Held vshards whose validity has run out (renewals failed or the process was frozen). */
  expired(): number[] {
    const now = monotonicMs();
    return [...this.held.values()].filter((l) => now >= l.validUntil).map((l) => l.vshard);
  }

  /** True while this node may act for `vshard` under `epoch`: the gate of every effect. */
  valid(vshard: number, epoch?: number): boolean {
    const lease = this.held.get(vshard);
    return lease !== undefined && (epoch === undefined || lease.epoch === epoch) && monotonicMs() < lease.validUntil;
  }

  /** The epoch of this node's lease on `vshard` while it is valid now; undefined otherwise. */
  heldEpoch(vshard: number): number | undefined {
    const lease = this.held.get(vshard);
    return lease !== undefined && monotonicMs() < lease.validUntil ? lease.epoch : undefined;
  }

  get(vshard: number): Lease | undefined {
    return this.held.get(vshard);
  }

  vshards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Forgets a lease without touching the bucket (it was lost, or is left to expire). */
  drop(vshard: number): Lease | undefined {
    const lease = this.held.get(vshard);
    this.held.delete(vshard);
    this.view?.clear(vshard);
    return lease;
  }

  /** Gives a lease back (graceful handoff): deleted only if it is still ours, so the next owner need not wait. */
  async release(vshard: number): Promise<void> {
    const lease = this.drop(vshard);
    if (lease === undefined) return;
    await this.bucket.delete(`v.${vshard}`, { previousSeq: lease.revision }).catch((err: Error) => {
      this.log.warn({ vshard, err: err.message }, 'cluster: lease release failed; it expires on its own');
    });
  }

  private value(vshard: number): Uint8Array {
    return encoder.encode(JSON.stringify({ node: this.nodeId, vshard }));
  }
}

/** The server refused a compare-and-set: the key is not at the revision we expected. */
function isWrongSequence(err: unknown): boolean {
  return /wrong last sequence|key exists/i.test((err as Error)?.message ?? '');
}
