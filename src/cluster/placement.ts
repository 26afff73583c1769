import type { TwinLogger } from '../model/twin-model.js';
import type { LeaseTable } from './leases.js';
import type { Membership } from './membership.js';
import { monotonicMs } from './monotonic.js';
import { msToNs, type OwnershipLog } from './ownership-log.js';
import { vshardsOf } from './rendezvous.js';

/** Where a vshard's state came from when this node took it: its log, or this node's local copy (still current). */
export type RestoredFrom = 'log' | 'local';

/** What runs a vshard's twins on this node: the data plane. */
export interface VShardRunner {
  /**
   * Restores the vshard's state and starts applying its input; the lease is held meanwhile.
   * Resolves with where the state came from (its log, or this node's current local copy).
   */
  start(vshard: number, epoch: number): Promise<RestoredFrom>;
  /**
   * Stops all work of the vshard. Called before its lease is released (handoff) or once it
   * is lost; the runner must refuse effects from the moment it is called (the lease gate).
   */
  stop(vshard: number, epoch: number, reason: StopReason): Promise<void>;
}

export type StopReason = 'handoff' | 'lost' | 'expired' | 'shutdown';

/** A node's {@link VShardRunner} that also answers what runs here now (for routing requests and links). */
export interface NodeVshards extends VShardRunner {
  /** Whether the vshard runs on this node now. */
  running(vshard: number): boolean;
  /** Whether twins of `path`'s vshard may start on this node now. */
  owns(path: string): boolean;
}

/**
 * Longest a vshard's start (restore of its log, its twins started) may take before it is
 * given up and its lease released: a start stuck on an unreachable JetStream must not hold
 * the lease (and a move slot) forever while nobody applies its input.
 */
const START_TIMEOUT_MS = 60_000;

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Moves vshards to where rendezvous hashing over the settled member view puts them: every
 * tick it renews the held leases, stops at once any vshard whose lease was lost or ran
 * out, hands off (stop, then release) vshards another node should own, and tries to take
 * the ones this node should own; at most `maxMoves` of those in flight. A vshard whose
 * lease another node still holds (a dead node's, until it expires) is tried again at the
 * next tick. Every ownership period goes to the {@link OwnershipLog}.
 */
export class Placement {
  private readonly moving = new Set<number>();
  private readonly starts = new Map<number, number>();
  private ticking = false;
  /** Shutting down: moves in flight finish, no new one starts. */
  private released = false;
  /** vshards whose take failed since the last tick (held by another node): tried again at the next tick, not at once. */
  private readonly retryAtTick = new Set<number>();

  constructor(
    private readonly self: string,
    private readonly vshardCount: number,
    private readonly members: Membership,
    private readonly leases: LeaseTable,
    private readonly runner: VShardRunner,
    private readonly ownership: OwnershipLog,
    private readonly maxMoves: number,
    private readonly log: TwinLogger,
  ) {}

  /**
   * One round: renewals (waited for at most `renewWaitMs`), then moves started (not
   * awaited). Overlapping calls are skipped.
   */
  async tick(renewWaitMs: number): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const v of await this.leases.renewAll(renewWaitMs)) this.lose(v, 'lost');
      this.retryAtTick.clear();
      this.startMoves();
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Starts the moves the settled view asks for, up to `maxMoves` in flight. Called by each
   * tick and whenever a move ends, so a node taking 256 vshards is not held to `maxMoves`
   * per heartbeat (it was: 16 ticks, 16 s, for a node starting alone).
   */
  private startMoves(): void {
    if (this.released) return;
    const view = this.members.stable();
    if (view === undefined) return;
    // A node missing from its own view (its heartbeats failed) takes nothing new.
    const desired = new Set(view.includes(this.self) ? vshardsOf(this.self, view, this.vshardCount) : []);
    // Moves run beside the ticks (a restore may take longer than a lease): renewals go on.
    for (const v of this.leases.vshards()) {
      if (desired.has(v) || this.moving.has(v)) continue;
      if (this.moving.size >= this.maxMoves) return;
      void this.handOff(v);
    }
    for (const v of desired) {
      if (this.leases.get(v) !== undefined || this.moving.has(v) || this.retryAtTick.has(v)) continue;
      if (this.moving.size >= this.maxMoves) return;
      void this.take(v);
    }
  }

  /** Stops the vshards whose validity ran out: called often, between ticks (a frozen process wakes here too). */
  checkExpiry(): void {
    for (const v of this.leases.expired()) this.lose(v, 'expired');
  }

  /** Hands every vshard back (graceful shutdown), once the moves in flight are done. */
  async releaseAll(): Promise<void> {
    this.released = true; // no new move starts from here on
    while (this.moving.size > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.leases.vshards().map((v) => this.handOff(v, 'shutdown')));
  }

  /** The vshards this node owns now. */
  owned(): number[] {
    return this.leases.vshards();
  }

  private async take(v: number): Promise<void> {
    this.moving.add(v);
    try {
      const lease = await this.leases.acquire(v);
      if (lease === undefined) {
        this.retryAtTick.add(v); // another node holds it still
        return;
      }
      const start = monotonicMs();
      this.starts.set(v, start);
      this.ownership.started(v, lease.epoch, msToNs(start));
      try {
        await withTimeout(this.runner.start(v, lease.epoch), START_TIMEOUT_MS, `vshard ${v} did not start in time`);
        this.log.debug(
          { vshard: v, epoch: lease.epoch, ms: Math.round(monotonicMs() - start) },
          'cluster: vshard owned',
        );
      } catch (err) {
        this.log.error({ vshard: v, err: (err as Error).message }, 'cluster: vshard failed to start; released');
        this.retryAtTick.add(v);
        await this.end(v, lease.epoch, 'handoff');
        await this.leases.release(v);
      }
    } finally {
      this.moving.delete(v);
      this.startMoves();
    }
  }

  private async handOff(v: number, reason: 'handoff' | 'shutdown' = 'handoff'): Promise<void> {
    const lease = this.leases.get(v);
    if (lease === undefined) return;
    this.moving.add(v);
    let released = false;
    try {
      await this.end(v, lease.epoch, reason);
      await this.leases.release(v);
      released = true;
    } finally {
      this.moving.delete(v);
      // The next move at once; after a failed release not before the next tick (no spinning on it).
      if (reason === 'handoff' && released) this.startMoves();
    }
  }

  /** A lease lost or run out: forgotten now, the runner told at once (its effects are fenced anyway). */
  private lose(v: number, reason: 'lost' | 'expired'): void {
    const lease = this.leases.drop(v);
    if (lease === undefined) return;
    this.log.warn({ vshard: v, epoch: lease.epoch, reason }, 'cluster: vshard lease ended; stopped');
    void this.end(v, lease.epoch, reason, lease.validUntil);
  }

  private async end(v: number, epoch: number, reason: StopReason, validUntil = Infinity): Promise<void> {
    const start = this.starts.get(v);
    this.starts.delete(v);
    await this.runner.stop(v, epoch, reason).catch((err: Error) => {
      this.log.error({ vshard: v, err: err.message }, 'cluster: vshard stop failed');
    });
    // Active until the runner stopped, or until the lease's validity if that passed first
    // (a frozen process acts on nothing after it: every effect checks the lease first).
    const endMs = Math.min(monotonicMs(), validUntil);
    if (start !== undefined) this.ownership.record(v, epoch, msToNs(start), msToNs(endMs), reason);
  }
}
