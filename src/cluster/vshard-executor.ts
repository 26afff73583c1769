import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { TwinError } from '../errors.js';
import { ThrottledWarning } from '../logger.js';
import type { LocalShardHost } from '../hosting/shard-host.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { ChangelogStore } from './changelog-store.js';
import { InputConsumer } from './input-consumer.js';
import { ResetBackoff } from './reset-backoff.js';
import type { NodeVshards, RestoredFrom, StopReason } from './placement.js';
import type { SpaceNames } from './space-names.js';

/** Stored twins started at once while a vshard starts (the rest wait for these, input runs meanwhile). */
const ANNOUNCE_CHUNK = 1_024;

/**
 * What owning a vshard means on this node: on start, its state restored from its log
 * (and the log claimed), its input consumed from after the sequence the state includes,
 * and meanwhile every twin of it started, so each announces its join values to its parent
 * again (a join lost in a crash is sent anew). On stop: no new twin of it may start, the input
 * stops, what is in flight commits (or is fenced), its twins stop and are forgotten.
 */
export class VShardExecutor implements NodeVshards {
  private readonly open = new Set<number>();
  private readonly consumers = new Map<number, InputConsumer>();
  /** The epoch each running vshard was started under. */
  private readonly epochs = new Map<number, number>();
  private readonly resetting = new Set<number>();
  /** Restarts that keep coming wait longer and longer (see ResetBackoff). */
  private readonly backoff = new ResetBackoff(Date.now);
  /** Restores that keep failing in a reset (a log that does not read back): a line per 10 s. */
  private readonly restoreFailures: ThrottledWarning;

  constructor(
    private readonly host: LocalShardHost,
    private readonly store: ChangelogStore,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: SpaceNames,
    private readonly vshardOf: (path: string) => number,
    /** The vshard input for a path belongs to, TWIN_NO_ROUTE for a path no model routes (`inputVshardOf`). */
    private readonly vshardOfInput: (path: string) => number,
    private readonly log: TwinLogger,
    /** Told first when a vshard stops here (its links move before its twins stop). */
    private readonly onStopping: (vshard: number) => void = () => undefined,
  ) {
    this.restoreFailures = new ThrottledWarning(
      log,
      'cluster: the vshard cannot be restored from its log; trying again while its lease lasts (docs/cluster-operations.md)',
      10_000,
      'attempts',
    );
    store.onBroken = (v) => void this.reset(v, 'a commit failed');
    store.lowWater = (v) => this.consumers.get(v)?.lowWater;
  }

  /** Whether twins of `path`'s vshard may start here now (the shard's `owns` rule in cluster mode). */
  owns(path: string): boolean {
    return this.open.has(this.vshardOf(path));
  }

  /** Whether the vshard runs here. */
  running(vshard: number): boolean {
    return this.open.has(vshard);
  }

  async start(vshard: number, epoch: number): Promise<RestoredFrom> {
    this.epochs.set(vshard, epoch);
    // Twins of it still in memory from an earlier ownership (their stop could not commit)
    // would shadow the state about to be restored: dropped first, unwritten.
    this.host.shard.evict(this.livePaths(vshard));
    const { after, from, unreadable } = await this.store.open(vshard, epoch);
    if (unreadable > 0)
      this.log.warn(
        { vshard, messages: unreadable },
        "cluster: the vshard's state log held messages no node wrote; skipped (who else publishes to the space's subjects? docs/cluster.md)",
      );
    // Stopped (handed off, lost) while its log was read: leave nothing behind.
    if (this.epochs.get(vshard) !== epoch) {
      this.store.closeVshard(vshard, true);
      return from;
    }
    this.open.add(vshard);
    this.host.shard.ownershipChanged();
    const paths = this.store.pathsOf(vshard);
    this.consumers.set(
      vshard,
      new InputConsumer(
        this.js,
        this.jsm,
        this.names,
        vshard,
        after,
        this.host.shard,
        this.log,
        this.vshardOfInput,
        () => this.store.settled(vshard),
        (seq) => void this.reset(vshard, `input ${seq} was not applied here`),
        (child, epoch) => this.store.admitJoin(vshard, this.vshardOf(child), epoch),
      ),
    );
    // Input flows from here on; meanwhile every stored twin starts, so each announces its
    // join values to its parent again (a join lost in a crash is sent anew) and arms its
    // timers. In the background: a vshard of many twins takes input at once, not after
    // all of them started (the start is what a takeover of a large vshard waited for).
    void this.announceAll(vshard, epoch, paths);
    this.log.debug({ vshard, epoch, twins: paths.length, after, from }, 'cluster: vshard started');
    return from;
  }

  /** Starts the vshard's stored twins, {@link ANNOUNCE_CHUNK} at a time, while it stays here under `epoch`. */
  private async announceAll(vshard: number, epoch: number, paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += ANNOUNCE_CHUNK) {
      if (!this.open.has(vshard) || this.epochs.get(vshard) !== epoch) return;
      const chunk = paths.slice(i, i + ANNOUNCE_CHUNK);
      await Promise.all(chunk.map((p) => this.host.read(p, []).catch(() => undefined)));
    }
  }

  /** `reset`: a restart from the log under the same lease (see {@link reset}), not a placement stop. */
  async stop(vshard: number, _epoch: number, reason: StopReason | 'reset'): Promise<void> {
    if (reason !== 'reset') {
      this.epochs.delete(vshard);
      this.backoff.forget(vshard);
    }
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
    const live = this.livePaths(vshard);
    await Promise.all(live.map((p) => this.host.stop(p).catch(() => undefined)));
    // A stop whose commit failed (fenced: the lease ended) leaves its twin in memory: dropped.
    this.host.shard.evict(this.livePaths(vshard));
    // Handing it over: a snapshot first, so the next owner reads one message, not the log since the last.
    if (reason === 'handoff' || reason === 'shutdown')
      await this.store
        .checkpoint(vshard)
        .catch((err: Error) =>
          this.log.warn(
            { vshard, err: err.message },
            'cluster: no checkpoint at handoff; the next owner reads the log',
          ),
        );
    // Nothing lands in its log after this (a watermark-only commit under way finishes first).
    await this.store.quiesce(vshard);
    // Its local copy stays for a restart (shutdown, reset); moved away, the next owner's claim makes it stale for good.
    this.store.closeVshard(vshard, reason !== 'shutdown' && reason !== 'reset');
    this.log.debug({ vshard, reason, twins: live.length }, 'cluster: vshard stopped');
  }

  /**
   * A commit of the vshard failed (JetStream unreachable, a leader election, a snapshot cut
   * short), or an input could not be applied for a passing reason: memory and the log
   * disagree, so the vshard restarts from the log under the same lease, and its input
   * replays from what the log holds. Nothing acknowledged is lost: the events are in the
   * input stream. Tried again while the lease lasts.
   */
  private async reset(vshard: number, why: string): Promise<void> {
    const epoch = this.epochs.get(vshard);
    if (epoch === undefined || this.resetting.has(vshard)) return;
    this.resetting.add(vshard);
    this.host.shard.stats.inputLog.resets++;
    const wait = this.backoff.next(vshard);
    this.log.warn({ vshard, why, ...(wait > 0 && { waitMs: wait }) }, 'cluster: the vshard restarts from its log');
    try {
      await this.stop(vshard, epoch, 'reset');
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let attempt = 0; this.epochs.get(vshard) === epoch; attempt++) {
        try {
          await this.start(vshard, epoch);
          return;
        } catch (err) {
          if (err instanceof TwinError && err.code === 'TWIN_FENCED') return; // the lease ended: placement stops it
          this.restoreFailures.note({ vshard, err: (err as Error).message });
          await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 2_000)));
        }
      }
    } finally {
      this.resetting.delete(vshard);
    }
  }

  private livePaths(vshard: number): string[] {
    return this.host.activePaths().filter((p) => this.vshardOf(p) === vshard);
  }
}
