import { TwinError } from '../errors.js';
import type { TwinLogger } from '../model/twin-model.js';
import { FORMAT_VERSION } from '../store/lmdb-open.js';
import { resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from './cluster-options.js';
import type { LeaseView } from './lease-view.js';
import { LeaseTable } from './leases.js';
import { Membership, type MemberInfo } from './membership.js';
import { NatsLink } from './nats-link.js';
import { OwnershipLog } from './ownership-log.js';
import { Placement, type VShardRunner } from './placement.js';

/** How often held leases are checked against the monotonic clock between ticks. */
const EXPIRY_CHECK_MS = 100;

/**
 * This node's place in a cluster: its NATS link, its membership heartbeat, its leases and
 * the placement loop that moves vshards to and from its {@link VShardRunner}. The
 * control plane only; the runner decides what owning a vshard means.
 *
 * @example
 * ```ts
 * const member = await ClusterMember.join({ servers: ['nats://127.0.0.1:4222'] }, runner, log);
 * member.owned(); // [3, 17, …] once the view settled
 * await member.leave(); // hands its vshards off first
 * ```
 */
export class ClusterMember {
  private timer: NodeJS.Timeout | undefined;
  private placeTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private leaving = false;

  private constructor(
    readonly options: ResolvedClusterOptions,
    readonly link: NatsLink,
    readonly members: Membership,
    readonly leases: LeaseTable,
    private readonly placement: Placement,
  ) {}

  static async join(
    options: ClusterOptions,
    runner: VShardRunner,
    log: TwinLogger,
    self: Omit<MemberInfo, 'id' | 'startedAt'> = {},
    opened?: NatsLink,
    /** Shared with worker threads that run vshards: the leases as this node holds them. */
    view?: LeaseView,
  ): Promise<ClusterMember> {
    const resolved = resolveClusterOptions(options);
    const link = opened ?? (await NatsLink.open(resolved));
    const members = new Membership(
      link.nodes,
      { ...self, id: resolved.nodeId, startedAt: Date.now(), format: FORMAT_VERSION },
      resolved.stableMs,
      log,
      () => link.members(),
    );
    const leases = new LeaseTable(link.leases, resolved.nodeId, resolved.leaseMs, log, view);
    const placement = new Placement(
      resolved.nodeId,
      resolved.vshards,
      members,
      leases,
      runner,
      new OwnershipLog(resolved.nodeId, resolved.ownershipLog),
      resolved.maxMoves,
      log,
    );
    const member = new ClusterMember(resolved, link, members, leases, placement);
    await members.beat();
    // A space of another store format (a rolling upgrade across a format change): joining
    // would let nodes restore each other's vshards and lose what they cannot read.
    const others = members.otherFormats();
    if (others.length > 0) {
      await members.leave();
      if (!opened) await link.close();
      const nodes = others.map((m) => `${m.id} (format ${m.format ?? 1})`).join(', ');
      throw new TwinError(
        'TWIN_STORE_FAILED',
        `cluster space ${resolved.space} has nodes of another store format: ${nodes}; this build writes format ${FORMAT_VERSION}. Stop every node of the space, upgrade them all, then start them (docs/cluster.md)`,
        { nodes: others.map((m) => m.id), format: FORMAT_VERSION },
      );
    }
    member.schedule();
    return member;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** The vshards this node owns now, ascending. */
  owned(): number[] {
    return this.placement.owned();
  }

  /** Graceful leave: stops taking vshards, hands each back (stop, release), leaves the view, closes NATS. */
  async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    clearTimeout(this.timer);
    clearTimeout(this.placeTimer);
    clearInterval(this.expiryTimer);
    await this.members.leave();
    await this.placement.releaseAll();
    await this.link.close();
  }

  /**
   * Heartbeat and placement each on its own timer, every heartbeat period: a heartbeat
   * slowed by a server in an election must not hold back the lease renewals.
   */
  private schedule(): void {
    const period = this.options.heartbeatMs;
    const beat = async (): Promise<void> => {
      if (this.leaving) return;
      await this.members.beat();
      if (!this.leaving) this.timer = setTimeout(() => void beat(), period);
    };
    const place = async (): Promise<void> => {
      if (this.leaving) return;
      await this.placement.tick(period);
      if (!this.leaving) this.placeTimer = setTimeout(() => void place(), period);
    };
    this.timer = setTimeout(() => void beat(), 0);
    this.placeTimer = setTimeout(() => void place(), 0);
    this.expiryTimer = setInterval(() => this.placement.checkExpiry(), EXPIRY_CHECK_MS);
    this.expiryTimer.unref();
  }
}
