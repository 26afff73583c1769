import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { HostObserver, ShardHost } from '../hosting/shard-host.js';
import type { LaneObserver } from '../lanes/events.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { PathFilter } from '../topology/index.js';
import { readLinkFrame } from './link-frames.js';
import { ThrottledWarning } from '../logger.js';
import { NodeRpc } from './node-rpc.js';
import type { SpaceNames } from './space-names.js';

/** One wildcard link a client of this node holds, over the twins of every node. */
interface FilterLink {
  readonly lid: string;
  readonly filter: PathFilter;
  readonly lane: string;
  readonly limit: number;
  readonly observer: LaneObserver;
  /** What is registered on this node's shard (a forwarder we can drop). */
  readonly proxy: HostObserver;
  readonly subject: string;
  readonly subscription: Subscription;
  /** Other nodes the link is registered on (or being registered on). */
  readonly nodes: Set<string>;
  closed: boolean;
}

/**
 * Wildcard links of this node's clients in cluster mode: each is registered on this
 * node's shard and, through {@link LinkServer}, on every other live node, which sends the
 * matching twins it runs over core NATS. A twin that moves meets the link where it starts
 * (a starting twin sends its state to every matching link), so the client sees its state
 * again, from its new node. Nodes that join later get the link at the next {@link check};
 * the limit bounds the link as a whole (counted across the nodes before anything links).
 */
export class ClusterFilterLinks {
  private readonly links = new Map<LaneObserver, FilterLink>();
  private seq = 0;
  /** Messages on this node's wildcard link subjects that held no frame (see readLinkFrame). */
  private readonly badFrames: ThrottledWarning;
  private readonly observerFailures: ThrottledWarning;

  constructor(
    private readonly nodeId: string,
    private readonly nc: NatsConnection,
    private readonly names: SpaceNames,
    private readonly host: ShardHost,
    private readonly rpc: NodeRpc,
    /** The other live nodes now. */
    private readonly others: () => readonly string[],
    private readonly log: TwinLogger,
  ) {
    this.badFrames = new ThrottledWarning(
      log,
      'a message on a wildcard link subject that is no link frame: dropped',
      10_000,
    );
    this.observerFailures = new ThrottledWarning(
      log,
      "a remote wildcard link's observer threw; the event was dropped",
      10_000,
    );
  }

  get size(): number {
    return this.links.size;
  }

  /** Links `observer` on every node; synced once each node sent its matching twins. */
  async open(filter: PathFilter, lane: string, observer: LaneObserver, limit: number): Promise<void> {
    const lid = `${this.nodeId}.f${++this.seq}`;
    const subject = `${this.names.space}.flink.${this.nodeId}.${this.seq}`;
    const subscription = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err || link.closed) return;
        // Nothing here may throw: that would end the NATS subscription loop (and the
        // connection's processing with it). A message that holds no frame is dropped.
        const frame = readLinkFrame(msg.data, true);
        if (frame === null) {
          this.badFrames.note({ filter: filter.text, lane, subject: msg.subject });
          return;
        }
        try {
          if (frame.t === 'e') observer.onEvent(frame.ev, frame.p!);
          else if (frame.t === 'b') (observer as Partial<HostObserver>).useStreamBuffer?.();
        } catch (err) {
          this.observerFailures.note({ err, filter: filter.text, lane });
        }
      },
    });
    const proxy: HostObserver = {
      onEvent: (ev, path) => observer.onEvent(ev, path),
      useStreamBuffer: () => (observer as Partial<HostObserver>).useStreamBuffer?.(),
    };
    const link: FilterLink = {
      lid,
      filter,
      lane,
      limit,
      observer,
      proxy,
      subject,
      subscription,
      nodes: new Set(),
      closed: false,
    };
    this.links.set(observer, link);
    try {
      // A node that does not answer (dying, or not serving yet) does not fail the link: it
      // gets it at a later check, and sends its twins then.
      await Promise.all([
        this.host.observeFilter(filter, lane, proxy, limit),
        ...this.others().map((node) => this.registerOrRetry(link, node)),
      ]);
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
    link.subscription.unsubscribe();
    this.host.unobserveFilter(link.proxy);
    for (const node of link.nodes) this.rpc.call(node, { op: 'unobserve', lid: link.lid }).catch(() => undefined);
  }

  /** Registers every link on live nodes that do not have it yet (they joined), forgets nodes that left. */
  check(): void {
    const live = new Set(this.others());
    for (const link of this.links.values()) {
      for (const node of link.nodes) if (!live.has(node)) link.nodes.delete(node);
      for (const node of live)
        if (!link.nodes.has(node))
          this.registerOrRetry(link, node).catch((err: Error) =>
            this.log.warn({ node, err: err.message }, 'cluster: a node refused a wildcard link'),
          );
    }
  }

  /** Registers the link on `node`; a refusal for good (no such lane) fails, anything else is retried at the next check. */
  private async registerOrRetry(link: FilterLink, node: string): Promise<void> {
    try {
      await this.register(link, node);
    } catch (err) {
      link.nodes.delete(node);
      if (!NodeRpc.retryable(err)) throw err;
      this.log.warn({ node, err: (err as Error).message }, 'cluster: a wildcard link could not reach a node yet');
    }
  }

  private async register(link: FilterLink, node: string): Promise<void> {
    link.nodes.add(node);
    await this.rpc.call(node, {
      op: 'observeFilter',
      lid: link.lid,
      node: this.nodeId,
      filter: link.filter.text,
      within: link.filter.scopeTexts,
      lane: link.lane,
      limit: link.limit,
      subject: link.subject,
    });
  }
}
