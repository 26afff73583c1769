import type { JetStreamClient } from '@nats-io/jetstream';
import type { LocalShardHost } from '../hosting/shard-host.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { ChangelogStore } from './changelog-store.js';
import { InputConsumer } from './input-consumer.js';
import type { StopReason, VShardRunner } from './placement.js';
import type { SpaceNames } from './space-names.js';

/**
 * What owning a vshard means on this node: on start, its state restored from its log
 * (and the log claimed), every twin of it started, so each announces its join values to
 * its parent again (a join lost in a crash is sent anew), then its input consumed from
 * after the sequence the state includes. On stop: no new twin of it may start, the input
 * stops, what is in flight commits (or is fenced), its twins stop and are forgotten.
 */
export class VShardExecutor implements VShardRunner {
  private readonly open = new Set<number>();
  private readonly consumers = new Map<number, InputConsumer>();

  constructor(
    private readonly host: LocalShardHost,
    private readonly store: ChangelogStore,
    private readonly js: JetStreamClient,
    private readonly names: SpaceNames,
    private readonly vshardOf: (path: string) => number,
    private readonly log: TwinLogger,
    /** Told first when a vshard stops here (its links move before its twins stop). */
    private readonly onStopping: (vshard: number) => void = () => undefined,
  ) {}

  /** Whether twins of `path`'s vshard may start here now (the shard's `owns` rule in cluster mode). */
  owns(path: string): boolean {
    return this.open.has(this.vshardOf(path));
  }

  /** Whether the vshard runs here. */
  running(vshard: number): boolean {
    return this.open.has(vshard);
  }

  async start(vshard: number, epoch: number): Promise<void> {
    const after = await this.store.open(vshard, epoch);
    this.open.add(vshard);
    this.host.shard.ownershipChanged();
    const paths = this.store.pathsOf(vshard);
    await Promise.all(paths.map((p) => this.host.read(p, []).catch(() => undefined)));
    // Stopped while restoring: leave nothing running.
    if (!this.open.has(vshard)) return;
    this.consumers.set(vshard, new InputConsumer(this.js, this.names, vshard, after, this.host.shard, this.log));
    this.log.debug({ vshard, epoch, twins: paths.length, after }, 'cluster: vshard started');
  }

  async stop(vshard: number, _epoch: number, reason: StopReason): Promise<void> {
    this.open.delete(vshard);
    this.host.shard.ownershipChanged();
    this.onStopping(vshard);
    const consumer = this.consumers.get(vshard);
    this.consumers.delete(vshard);
    consumer?.stop();
    await consumer?.done;
    // Its events in the inbox commit first (a lost lease fences those commits); the shard
    // as a whole may never be quiet under load, so this waits for this vshard's only.
    await consumer?.drained();
    const live = this.host.activePaths().filter((p) => this.vshardOf(p) === vshard);
    await Promise.all(live.map((p) => this.host.stop(p).catch(() => undefined)));
    this.store.closeVshard(vshard);
    this.log.debug({ vshard, reason, twins: live.length }, 'cluster: vshard stopped');
  }
}
