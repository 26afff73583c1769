import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { TwinError } from '../errors.js';
import type { HostObserver, ShardHost } from '../hosting/shard-host.js';
import type { LaneObserver } from '../lanes/events.js';
import type { TwinLogger } from '../model/twin-model.js';
import { readLinkFrame } from './link-frames.js';
import { ThrottledWarning } from '../logger.js';
import { NodeRpc } from './node-rpc.js';
import type { OwnerDirectory } from './owner-directory.js';
import type { SpaceNames } from './space-names.js';

/** One link a client of this node holds, wherever its twin runs. */
interface ClusterLink {
  readonly lid: string;
  readonly path: string;
  readonly lane: string;
  readonly vshard: number;
  readonly observer: HostObserver;
  /** Where it is attached now: 'local' (this node's shard), a node id, or undefined while re-linking. */
  at: string | undefined;
  /** The observer registered on this node's shard while attached locally (a forwarder we can drop). */
  proxy: HostObserver | undefined;
  subscription: Subscription | undefined;
  closed: boolean;
  relinking: boolean;
}

/**
 * Exact links of this node's clients in cluster mode. A link is attached where its twin
 * runs: to this node's shard, or through the owner's {@link LinkServer} over NATS. When
 * the twin's vshard moves (this node hands it off, the owner says so, or the owner died)
 * the link attaches again to the new owner, which sends a fresh sync; the client keeps
 * its link and sees nothing else of the move.
 */
export class ClusterLinks {
  private readonly links = new Map<LaneObserver, ClusterLink>();
  /** Messages on this node's link subjects that held no frame (see readLinkFrame). */
  private readonly badFrames: ThrottledWarning;
  private readonly observerFailures: ThrottledWarning;
  private seq = 0;

  constructor(
    private readonly nodeId: string,
    private readonly nc: NatsConnection,
    private readonly names: SpaceNames,
    private readonly host: ShardHost,
    private readonly rpc: NodeRpc,
    private readonly owners: OwnerDirectory,
    private readonly runsHere: (vshard: number) => boolean,
    private readonly log: TwinLogger,
  ) {
    this.badFrames = new ThrottledWarning(
      log,
      'a message on a link subject that is no link frame: link made again',
      10_000,
    );
    this.observerFailures = new ThrottledWarning(log, "a remote link's observer threw; the event was dropped", 10_000);
  }

  get size(): number {
    return this.links.size;
  }

  /** Attaches a new link; rejects (and keeps nothing) when the first attach fails for good (no such lane). */
  async open(path: string, lane: string, vshard: number, observer: HostObserver): Promise<void> {
    const link: ClusterLink = {
      lid: `${this.nodeId}.${++this.seq}`,
      path,
      lane,
      vshard,
      observer,
      at: undefined,
      proxy: undefined,
      subscription: undefined,
      closed: false,
      relinking: false,
    };
    this.links.set(observer, link);
    try {
      await this.attach(link, Date.now() + 15_000);
    } catch (err) {
      this.close(observer);
      throw err;
    }
  }

  close(observer: LaneObserver): void {
    const link = this.links.get(observer);
    if (link === undefined) return;
    link.closed = true;
    this.links.delete(observer);
    this.detach(link);
  }

  /** This node stops running `vshard`: its local links attach to the next owner. */
  vshardStopped(vshard: number): void {
    for (const link of this.links.values()) if (link.vshard === vshard && link.at === 'local') this.relink(link);
  }

  /** Links whose owner is no longer the one they are attached to (it died, or moved without telling) attach again. */
  check(): void {
    for (const link of this.links.values()) {
      if (link.relinking || link.at === undefined) continue;
      const owner = this.runsHere(link.vshard) ? 'local' : this.owners.ownerOf(link.vshard);
      if (owner !== undefined && owner !== link.at) this.relink(link);
    }
  }

  private relink(link: ClusterLink): void {
    if (link.relinking || link.closed) return;
    link.relinking = true;
    this.detach(link);
    void (async () => {
      // A link is kept for as long as its client holds it: ask until an owner answers.
      for (let attempt = 0; !link.closed; attempt++) {
        try {
          await this.attach(link, Date.now() + 5_000);
          break;
        } catch (err) {
          this.detach(link);
          if (attempt % 10 === 0)
            this.log.warn({ path: link.path, err: (err as Error).message }, 'cluster: a link waits for its twin');
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
          await this.owners.refresh().catch(() => undefined);
        }
      }
      link.relinking = false;
    })();
  }

  private async attach(link: ClusterLink, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.runsHere(link.vshard)) return await this.attachLocal(link);
        const owner = this.owners.ownerOf(link.vshard);
        if (owner === undefined || owner === this.nodeId)
          throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', `vshard ${link.vshard} has no owner yet`, {
            vshard: link.vshard,
          });
        return await this.attachRemote(link, owner);
      } catch (err) {
        if (!NodeRpc.retryable(err) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
        await this.owners.refresh().catch(() => undefined);
      }
    }
  }

  private async attachLocal(link: ClusterLink): Promise<void> {
    const target = link.observer;
    const proxy: HostObserver = {
      onEvent: (ev, path) => target.onEvent(ev, path),
      onSynced: () => target.onSynced?.(),
      useStreamBuffer: () => target.useStreamBuffer?.(),
    };
    link.proxy = proxy;
    link.at = 'local';
    await this.host.observe(link.path, link.lane, proxy);
  }

  private async attachRemote(link: ClusterLink, owner: string): Promise<void> {
    const subject = `${this.names.space}.link.${this.nodeId}.${link.lid.split('.').pop()!}`;
    const target = link.observer;
    link.subscription = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err || link.closed) return;
        // Nothing here may throw: that would end the NATS subscription loop (and the
        // connection's processing with it). A frame this node cannot read is a link to make again.
        const frame = readLinkFrame(msg.data, false);
        if (frame === null) {
          this.badFrames.note({ path: link.path, lane: link.lane, subject: msg.subject });
          this.relink(link);
          return;
        }
        try {
          if (frame.t === 'e') target.onEvent(frame.ev, link.path);
          else if (frame.t === 's') target.onSynced?.();
          else if (frame.t === 'b') target.useStreamBuffer?.();
          else this.relink(link);
        } catch (err) {
          this.observerFailures.note({ err, path: link.path, lane: link.lane });
        }
      },
    });
    link.at = owner;
    await this.rpc.call(owner, {
      op: 'observe',
      lid: link.lid,
      node: this.nodeId,
      path: link.path,
      lane: link.lane,
      subject,
    });
  }

  private detach(link: ClusterLink): void {
    if (link.at === 'local' && link.proxy) this.host.unobserve(link.path, link.lane, link.proxy);
    else if (link.at !== undefined) this.rpc.call(link.at, { op: 'unobserve', lid: link.lid }).catch(() => undefined);
    link.subscription?.unsubscribe();
    link.subscription = undefined;
    link.proxy = undefined;
    link.at = undefined;
  }
}
