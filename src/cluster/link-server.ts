import type { NatsConnection } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { toWireJs } from '../protocol/wire-js.js';
import type { HostObserver, ShardHost } from '../hosting/shard-host.js';
import type { LinkFrame } from './link-frames.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { PathFilter } from '../topology/index.js';

interface Served {
  readonly node: string;
  /** The twin of an exact link; undefined for a wildcard link. */
  readonly path: string | undefined;
  readonly lane: string;
  /** The twin's vshard (exact links); -1 for a wildcard link, which no move ends. */
  readonly vshard: number;
  readonly subject: string;
  readonly observer: HostObserver;
}

/**
 * The owner's side of links made on other nodes: for each, an observer on this node's
 * shard that publishes the lane's sync and changes to the linking node's subject (core
 * NATS). When the twin's vshard leaves this node the link is told to link again (`m`)
 * and dropped here; links of nodes that left the cluster are dropped too. A wildcard link
 * is registered on every node and covers the matching twins that run here, whichever
 * vshards those are now: a twin that moves here meets it when it starts.
 */
export class LinkServer {
  private readonly served = new Map<string, Served>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly host: ShardHost,
    private readonly log: TwinLogger,
  ) {}

  get size(): number {
    return this.served.size;
  }

  async observe(lid: string, node: string, path: string, lane: string, vshard: number, subject: string): Promise<void> {
    this.unobserve(lid); // a link asked again (after a timeout) replaces its first registration
    // Lane values cross nodes as a reader gets them (toWireJs; bytes kept): msgpackr reads a
    // Map with number keys back as an object and one with object keys not at all, so a
    // remote link would show another value than a local one, or none.
    const send = (frame: LinkFrame): void => this.nc.publish(subject, pack(toWireJs(frame, 'keep')));
    const observer: HostObserver = {
      onEvent: (ev) => send({ t: 'e', ev }),
      onSynced: () => send({ t: 's' }),
      useStreamBuffer: () => send({ t: 'b' }),
    };
    this.served.set(lid, { node, path, lane, vshard, subject, observer });
    try {
      await this.host.observe(path, lane, observer);
    } catch (err) {
      this.served.delete(lid);
      throw err;
    }
  }

  /** A wildcard link of another node over the matching twins of this one. */
  async observeFilter(
    lid: string,
    node: string,
    filter: PathFilter,
    lane: string,
    limit: number,
    subject: string,
  ): Promise<void> {
    this.unobserve(lid);
    const send = (frame: LinkFrame): void => this.nc.publish(subject, pack(toWireJs(frame, 'keep')));
    const observer: HostObserver = {
      onEvent: (ev, path) => send({ t: 'e', ev, p: path }),
      useStreamBuffer: () => send({ t: 'b' }),
    };
    this.served.set(lid, { node, path: undefined, lane, vshard: -1, subject, observer });
    try {
      await this.host.observeFilter(filter, lane, observer, limit);
    } catch (err) {
      this.served.delete(lid);
      throw err;
    }
  }

  unobserve(lid: string): void {
    const s = this.served.get(lid);
    if (s === undefined) return;
    this.served.delete(lid);
    if (s.path === undefined) this.host.unobserveFilter(s.observer);
    else this.host.unobserve(s.path, s.lane, s.observer);
  }

  /** The vshard left this node: its links are told to link again (to the next owner). */
  vshardStopped(vshard: number): void {
    for (const [lid, s] of this.served) {
      if (s.vshard !== vshard) continue;
      this.nc.publish(s.subject, pack({ t: 'm' } satisfies LinkFrame));
      this.unobserve(lid);
    }
  }

  /** Drops the links of nodes no longer in the cluster (they died without unlinking). */
  prune(liveNodes: readonly string[]): void {
    const live = new Set(liveNodes);
    let dropped = 0;
    for (const [lid, s] of this.served)
      if (!live.has(s.node)) {
        this.unobserve(lid);
        dropped++;
      }
    if (dropped > 0) this.log.info({ dropped }, 'cluster: links of departed nodes dropped');
  }
}
