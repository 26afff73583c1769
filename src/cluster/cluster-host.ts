import type { RemoteMessage } from '../actors/shard-options.js';
import { Ticket } from '../actors/work.js';
import { TwinError, toTwinError } from '../errors.js';
import type { HostCounters, HostObserver, ShardHost, TwinSnapshot } from '../hosting/shard-host.js';
import type { LaneObserver } from '../lanes/events.js';
import type { DerivedEvent, TwinEvent } from '../model/twin-model.js';
import type { HistoryPage, HistoryQuery } from '../store/state-store.js';
import { PathFilter } from '../topology/index.js';
import { sumCounters } from '../hosting/host-counters.js';
import type { DataDirLock } from '../store/data-lock.js';
import { claimCacheDir } from './vshard-cache.js';
import { OutputRelay } from './output-relay.js';
import { settleSpace } from './space-settle.js';
import { buildNodeVshards, type NodeShardSettings } from './node-vshards.js';
import type { NodeVshards } from './placement.js';
import { ClusterMember } from './cluster-member.js';
import { resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from './cluster-options.js';
import { InputBatcher } from './input-batcher.js';
import { MoveCounter, type MoveCounts } from './move-counter.js';
import { NatsLink } from './nats-link.js';
import { JoinPublisher } from './join-publisher.js';
import { NodeRpc, type RpcRequest } from './node-rpc.js';
import { OwnerDirectory } from './owner-directory.js';
import { ClusterLinks } from './cluster-links.js';
import { ClusterFilterLinks } from './cluster-filter-links.js';
import { LinkServer } from './link-server.js';
import { inputVshardOf, vshardOf } from './vshards.js';

/** What the runtime gives the cluster host: the shard settings of its twins, its workers, the cluster. */
export interface ClusterHostOptions extends NodeShardSettings {
  readonly cluster: ClusterOptions;
  /** How clients reach this node (for `cluster status`). */
  readonly advertise?: { http?: string; warp?: string };
  /** Derived events of twins that run on other nodes (this node's own go to `onOutput`). */
  readonly onSpaceOutput?: (e: DerivedEvent) => void;
}

/** How long a request keeps asking while its vshard has no owner or is moving. */
const ROUTE_DEADLINE_MS = 15_000;

/**
 * The twins of a cluster, as one {@link ShardHost}: events go to their vshard's input
 * stream in JetStream (acknowledged once JetStream stored them), and the vshard's owner,
 * whichever node that is, applies them; reads and commands go to the owner (this node's
 * shard, or another node over NATS request/reply), asking again while a vshard moves.
 * This node's own vshards run in a {@link LocalShardHost} on a {@link ChangelogStore}.
 */
export class ClusterShardHost implements ShardHost {
  /** Resolves once the node joined (NATS connected, streams and buckets there). */
  readonly ready: Promise<void>;
  readonly options: ResolvedClusterOptions;
  private link!: NatsLink;
  private member!: ClusterMember;
  private owners!: OwnerDirectory;
  private rpc!: NodeRpc;
  private inner!: ShardHost;
  /** This node's vshards (on its main thread, or on its workers). */
  private executor!: NodeVshards;
  private moves: MoveCounter | undefined;
  private links!: ClusterLinks;
  private filterLinks!: ClusterFilterLinks;
  private linkServer!: LinkServer;
  private linkCheck: NodeJS.Timeout | undefined;
  private readonly vshardOf: (path: string) => number;
  private joins!: JoinPublisher;
  private readonly batcher: InputBatcher;
  private relay: OutputRelay | undefined;
  /** The data directory of the node's local copy of its vshards (`--data`), held while it runs. */
  private readonly dataLock: DataDirLock | undefined;

  constructor(private readonly host: ClusterHostOptions) {
    this.options = resolveClusterOptions(host.cluster);
    // Before anything connects: a second node on this directory fails here, at its start.
    this.dataLock = this.options.dataDir === undefined ? undefined : claimCacheDir(this.options.dataDir);
    const count = this.options.vshards;
    this.vshardOf = (path) => vshardOf(host.catalog, path, count);
    this.batcher = new InputBatcher(
      // The process's start in the ids: a node restarted within the dedupe window must not reuse them.
      `${this.options.nodeId}.${Date.now().toString(36)}`,
      () => this.link.js,
      () => this.link.names,
      (this.ready = this.join()),
    );
    this.ready.catch(() => undefined); // the runtime's ready() reports it
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /**
   * Where clients reach this node (its HTTP and WARP URLs, known once it listens): in its
   * membership entry from the next heartbeat on, for `twinflow cluster status`.
   */
  advertise(urls: { http?: string; warp?: string }): void {
    this.member?.members.advertise(urls);
  }

  /** The vshards this node owns now. */
  owned(): number[] {
    return this.member?.owned() ?? [];
  }

  /** vshards this node started and stopped owning so far (for `/metrics`). */
  moveCounts(): MoveCounts {
    return this.moves?.counts() ?? MoveCounter.none();
  }

  /** vshard → owning node, as this node knows it. */
  ownerMap(): ReadonlyMap<number, string> {
    return this.owners?.snapshot() ?? new Map();
  }

  private async join(): Promise<void> {
    const { log } = this.host;
    this.link = await NatsLink.open(this.options);
    const names = this.link.names;
    // The process's start in the ids: a node restarted within the dedupe window must not reuse them.
    this.joins = new JoinPublisher(
      this.link.js,
      names,
      this.vshardOf,
      `${this.nodeId}.${Date.now().toString(36)}`,
      log,
      (v) => this.member.leases.heldEpoch(v),
    );
    this.relay = new OutputRelay(this.link.nc, names, this.options.nodeId, (e) => this.host.onSpaceOutput?.(e), log);
    const relay = this.relay;
    const settings = {
      ...this.host,
      onOutput: (e: DerivedEvent) => {
        this.host.onOutput(e);
        relay.publish(e);
      },
    };
    const built = buildNodeVshards(settings, {
      link: this.link,
      options: this.options,
      vshardOf: this.vshardOf,
      leaseValid: (v, epoch) => this.member.leases.valid(v, epoch),
      remote: (m) => this.remote(m),
      remoteCommand: (path, lane, value) => this.submitCommand(path, lane, value, new Ticket(1)),
      onStopping: (v) => {
        // Before its twins stop: links to them move to the next owner.
        this.links.vshardStopped(v);
        this.linkServer.vshardStopped(v);
      },
    });
    this.inner = built.host;
    this.executor = built.vshards;
    this.owners = new OwnerDirectory(this.link.leases, log, () => this.link.leaseEntries());
    await this.owners.start();
    this.rpc = new NodeRpc(this.link.nc, names, log);
    this.linkServer = new LinkServer(this.link.nc, this.inner, log);
    this.links = new ClusterLinks(
      this.options.nodeId,
      this.link.nc,
      names,
      this.inner,
      this.rpc,
      this.owners,
      (v) => this.executor.running(v),
      log,
    );
    this.filterLinks = new ClusterFilterLinks(
      this.options.nodeId,
      this.link.nc,
      names,
      this.inner,
      this.rpc,
      () => this.member.members.current().filter((n) => n !== this.nodeId),
      log,
    );
    this.rpc.serve(this.options.nodeId, (r) => this.serveRequest(r));
    this.moves = new MoveCounter(this.executor);
    this.member = await ClusterMember.join(
      this.options,
      this.moves,
      log,
      this.host.advertise ?? {},
      this.link,
      built.view,
    );
    // Links whose owner died (no "moved" from it) attach to the next one; links of dead nodes are dropped.
    this.linkCheck = setInterval(() => {
      this.links.check();
      this.filterLinks.check();
      this.linkServer.prune(this.member.members.current());
    }, this.options.heartbeatMs);
    this.linkCheck.unref();
  }

  submitEvent(event: TwinEvent, ticket: Ticket, index: number): void {
    let vshard: number;
    try {
      vshard = this.route(event.subject);
    } catch (err) {
      finish(ticket, index, toTwinError(err));
      return;
    }
    this.batcher.add(vshard, event, ticket, index);
  }

  submitCommand(path: string, lane: string, value: unknown, ticket: Ticket, key?: string): void {
    this.toOwner(path, { op: 'command', path, lane, value, ...(key !== undefined && { key }) }, () => {
      const local = new Ticket(1);
      this.inner.submitCommand(path, lane, value, local, key);
      return local.promise.then((t) => {
        if (t.rejected[0]) throw t.rejected[0].error;
      });
    }).then(
      () => finish(ticket, 0),
      (err: unknown) => finish(ticket, 0, toTwinError(err)),
    );
  }

  async stop(path: string): Promise<void> {
    await this.ready;
    if (this.executor.owns(path)) await this.inner.stop(path);
  }

  async read(path: string, lanes?: readonly string[], release = false): Promise<TwinSnapshot> {
    return (await this.toOwner(path, { op: 'read', path, lanes, release }, () =>
      this.inner.read(path, lanes, release),
    )) as TwinSnapshot;
  }

  /** Links to the twin wherever it runs, and follows it when it moves (see {@link ClusterLinks}). */
  async observe(path: string, lane: string, observer: HostObserver): Promise<void> {
    await this.ready;
    await this.links.open(path, lane, this.route(path), observer);
  }

  unobserve(_path: string, _lane: string, observer: LaneObserver): void {
    this.links?.close(observer);
  }

  /**
   * Links the matching twins of every node (see {@link ClusterFilterLinks}); the limit
   * bounds the link as a whole: the twins are counted across the nodes first.
   */
  async observeFilter(filter: PathFilter, lane: string, observer: LaneObserver, limit = Infinity): Promise<void> {
    await this.ready;
    if (limit !== Infinity) await this.list(filter, limit);
    await this.filterLinks.open(filter, lane, observer, limit);
  }

  unobserveFilter(observer: LaneObserver): void {
    this.filterLinks?.close(observer);
  }

  /** Every node's matching twins (each lists the vshards it owns), merged. */
  async list(filter: PathFilter, limit = Infinity): Promise<string[]> {
    await this.ready;
    const request: RpcRequest = { op: 'list', filter: filter.text, within: filter.scopeTexts, limit };
    const nodes = this.owners.nodes().filter((n) => n !== this.nodeId);
    const lists = await Promise.all([
      this.inner.list(filter, limit),
      ...nodes.map((n) => this.rpc.call(n, request) as Promise<string[]>),
    ]);
    const all = [...new Set(lists.flat())];
    if (all.length > limit)
      throw new TwinError('TWIN_TOO_MANY_TWINS', `${filter.text} matches more than ${limit} twins`, {
        filter: filter.text,
        limit,
      });
    return all;
  }

  async history(path: string, query: HistoryQuery): Promise<HistoryPage> {
    await this.ready;
    return this.inner.history(path, query);
  }

  async warm(prefix: string): Promise<number> {
    await this.ready;
    return this.inner.warm(prefix);
  }

  /**
   * This node quiet, then the whole twin space: every input stored when it was called
   * applied by its owner, whichever node that is, with what it caused elsewhere (joins).
   */
  async settle(signal?: AbortSignal): Promise<void> {
    await this.ready;
    await this.inner.settle(signal);
    await settleSpace(this.link.jsm, this.link.names, this.options.vshards, signal);
  }

  counters(): HostCounters {
    return this.inner?.counters() ?? sumCounters([]); // zeros until the node joined
  }

  activePaths(): string[] {
    return this.inner?.activePaths() ?? [];
  }

  /** Hands every vshard off (so the others take them at once), then closes NATS. */
  async close(): Promise<void> {
    try {
      await this.ready;
    } catch {
      this.dataLock?.release();
      return;
    }
    clearInterval(this.linkCheck);
    try {
      await this.member.leave();
      this.owners.stop();
      this.rpc.close();
      await this.inner.close();
      this.relay?.close();
    } finally {
      this.dataLock?.release();
    }
  }

  /**
   * The vshard of a routable twin path; TWIN_PATH_INVALID / TWIN_NO_ROUTE otherwise (before
   * anything is sent). The rule the vshard's input consumer checks what it takes against.
   */
  private route(path: string): number {
    return inputVshardOf(this.host.catalog, path, this.options.vshards);
  }

  /**
   * Runs `local` if this node owns the twin's vshard, else asks the owner; while the
   * vshard has no owner or is moving, asks again (owners re-read) until the deadline.
   */
  private async toOwner(path: string, request: RpcRequest, local: () => Promise<unknown>): Promise<unknown> {
    await this.ready;
    const vshard = this.route(path);
    const deadline = Date.now() + ROUTE_DEADLINE_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.executor.running(vshard)) return await local();
        const owner = this.owners.ownerOf(vshard);
        if (owner === undefined || owner === this.nodeId)
          throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', `vshard ${vshard} has no owner yet`, { vshard });
        return await this.rpc.call(owner, request);
      } catch (err) {
        const moving = NodeRpc.retryable(err) || (err instanceof TwinError && err.code === 'TWIN_NOT_OWNER');
        if (!moving || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
        await this.owners.refresh().catch(() => undefined);
      }
    }
  }

  /** A request from another node, for a twin this node should own. */
  private async serveRequest(request: RpcRequest): Promise<unknown> {
    if (request.op === 'list') return this.inner.list(PathFilter.parse(request.filter, request.within), request.limit);
    if (request.op === 'unobserve') return this.linkServer.unobserve(request.lid);
    if (request.op === 'observeFilter')
      return this.linkServer.observeFilter(
        request.lid,
        request.node,
        PathFilter.parse(request.filter, request.within),
        request.lane,
        request.limit,
        request.subject,
      );
    const vshard = this.vshardOf(request.path);
    if (!this.executor.running(vshard))
      throw new TwinError('TWIN_NOT_OWNER', `node ${this.nodeId} does not own ${request.path} now`);
    if (request.op === 'read') return this.inner.read(request.path, request.lanes, request.release);
    if (request.op === 'observe')
      return this.linkServer.observe(request.lid, request.node, request.path, request.lane, vshard, request.subject);
    const ticket = new Ticket(1);
    this.inner.submitCommand(request.path, request.lane, request.value, ticket, request.key);
    const done = await ticket.promise;
    if (done.rejected[0]) throw done.rejected[0].error;
    return null;
  }

  /** Joins to a parent in another vshard go through its input stream; commands to another twin, to its owner. */
  private remote(m: RemoteMessage): void {
    if (m.kind === 'join') return this.joins.publish(m.parent, m.lane, m.child, m.value);
    this.submitCommand(m.path, m.lane, m.value, new Ticket(1));
  }
}

/** One item of a ticket finished outside a shard: settles the ticket once all did. */
function finish(ticket: Ticket, index: number, error?: TwinError): void {
  ticket.done(index, error);
  if (ticket.complete) ticket.resolve();
}
