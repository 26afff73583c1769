import type { JetStreamManager } from '@nats-io/jetstream';
import { TwinError } from '../errors.js';
import { MemoryStateStore } from '../store/memory-store.js';
import type { HistoryPage, HistoryQuery, StateStore, StateWrite, StoredTwin } from '../store/state-store.js';
import type { SpaceNames } from './space-names.js';
import type { RestoredLog, StateLog } from './state-log.js';
import { JoinEpochs } from './join-epochs.js';
import type { RestoredFrom } from './placement.js';
import type { CacheMark, VshardCache } from './vshard-cache.js';

/** Log messages of a vshard after which the next commit is followed by a snapshot and a purge. */
const SNAPSHOT_EVERY = 1_000;
/** How often the heads of the owned vshards' logs are checked for a message no node wrote (see checkHeads). */
const HEAD_CHECK_MS = 10_000;

/** What this store knows of a vshard it owns. */
interface OwnedVshard {
  readonly epoch: number;
  /** Sequence of the log's last message we wrote or read: the compare-and-set of the next append. */
  lastSeq: number;
  /** Highest input sequence included in what the log holds. */
  watermark: number;
  sinceSnapshot: number;
  /** Appends of this vshard, one after the other (each needs the sequence of the one before). */
  chain: Promise<void>;
  /** The fence of joins from other vshards (part of the vshard's state, recorded in its log). */
  readonly joins: JoinEpochs;
  /** The {@link JoinEpochs.version} the log last recorded. */
  joinsRecorded: number;
  /** Stopping here: no append starts any more (see {@link ChangelogStore.quiesce}). */
  closing: boolean;
}

/**
 * The state store of a cluster node: twins of the vshards it owns, in memory, every
 * commit appended to the vshard's state log in JetStream before it counts as done (so an
 * acknowledged command or event is in JetStream, replicated, when the caller hears of it).
 * A vshard is opened when its lease is won (its log restored here, then claimed) and
 * closed when it moves away (its twins forgotten). Writes for a vshard not open, or whose
 * lease `gate` says ended, fail with TWIN_FENCED and leave the log untouched.
 */
export class ChangelogStore implements StateStore {
  private readonly local = new MemoryStateStore();
  private readonly owned = new Map<number, OwnedVshard>();
  /** Paths held per vshard (to forget them and to snapshot them). */
  private readonly paths = new Map<number, Set<string>>();
  /**
   * Vshards whose log refused or lost an append: memory is ahead of the log there, so no
   * later commit may be appended (its watermark would cover the lost one) until the vshard
   * is opened again from its log.
   */
  private readonly broken = new Set<number>();
  /** Told when a vshard breaks (see {@link broken}); the executor restores it. */
  onBroken: (vshard: number) => void = () => undefined;
  /**
   * The vshard's restart point: the input sequence up to which everything settled (its
   * consumer's low-water mark). What a commit records as its watermark.
   */
  lowWater: (vshard: number) => number | undefined = () => undefined;
  /** Vshards with a watermark-only commit scheduled (see {@link settled}). */
  private readonly marking = new Set<number>();

  constructor(
    private readonly log: StateLog,
    private readonly jsm: JetStreamManager,
    private readonly names: SpaceNames,
    private readonly vshardOf: (path: string) => number,
    private readonly gate: (vshard: number, epoch: number) => boolean,
    /** The node's local copy (`--data` with `--cluster`), reused when provably current. */
    private readonly cache?: VshardCache,
  ) {
    this.headTimer = setInterval(() => void this.checkHeads(), HEAD_CHECK_MS);
    this.headTimer.unref();
  }

  private readonly headTimer: NodeJS.Timeout;
  private checking = false;
  /** Each owned vshard's last append at the previous round of {@link checkHeads}. */
  private readonly checkedSeq = new WeakMap<OwnedVshard, number>();

  /**
   * A message no node wrote at the head of an owned vshard's log (another client of the
   * account published there) hides the watermark from `cluster status` and `GET /settled`
   * until the owner's next commit claims the log again, and an idle vshard has none. So the
   * owner looks: a commit without writes after such a head fails (the log moved under its
   * compare-and-set), and the vshard restarts from its log and claims it, as after any
   * failed commit.
   */
  private async checkHeads(): Promise<void> {
    if (this.checking) return; // a slow server: one round at a time
    this.checking = true;
    try {
      for (const [vshard, owned] of [...this.owned]) {
        // Idle ones only: a vshard that committed since the last round meets any such message
        // at its next append anyway.
        const seen = this.checkedSeq.get(owned);
        this.checkedSeq.set(owned, owned.lastSeq);
        if (owned.closing || this.broken.has(vshard) || seen !== owned.lastSeq) continue;
        const head = await this.log.lastWriter(vshard, owned.lastSeq).catch(() => null);
        if (head?.foreign !== true || this.owned.get(vshard) !== owned) continue;
        this.append(vshard, []).catch(() => undefined); // fails, and the vshard restarts (see append)
      }
    } finally {
      this.checking = false;
    }
  }

  /**
   * Restores the vshard (from the local copy when it is current, else from its log) and
   * claims the log; resolves with the input sequence to resume after, where the state
   * came from, and how many messages of the log no node wrote (skipped, see readLogEntry).
   */
  async open(vshard: number, epoch: number): Promise<{ after: number; from: RestoredFrom; unreadable: number }> {
    for (;;) {
      // Never claim the log without the lease: that would fence the rightful owner.
      if (!this.gate(vshard, epoch))
        throw new TwinError('TWIN_FENCED', `vshard ${vshard}: the lease ended before its log was claimed`, { vshard });
      const local = await this.fromCache(vshard);
      const restored = local ?? (await this.log.restore(vshard));
      this.closeVshard(vshard);
      await this.local.write(restored.ops);
      const held = this.paths.get(vshard) ?? new Set<string>();
      for (const op of restored.ops) held.add(op.path);
      this.paths.set(vshard, held);
      try {
        // The claim: from now on an older owner's append fails at the server.
        const { last: lastSeq } = await this.log.append(vshard, 'o', epoch, restored.watermark, [], restored.lastSeq);
        this.broken.delete(vshard);
        const joins = new JoinEpochs(restored.joinEpochs);
        const owned: OwnedVshard = {
          epoch,
          lastSeq,
          watermark: restored.watermark,
          sinceSnapshot: restored.sinceSnapshot + 1,
          chain: Promise.resolve(),
          joins,
          joinsRecorded: joins.version,
          closing: false,
        };
        this.owned.set(vshard, owned);
        if (this.cache) {
          const mark = await this.mark(owned, lastSeq, restored.watermark);
          if (local) void this.cache.commit(vshard, [], mark);
          else this.cache.replace(vshard, restored.ops, mark);
        }
        return { after: restored.watermark, from: local ? 'local' : 'log', unreadable: restored.unreadable ?? 0 };
      } catch (err) {
        // Someone appended between our read and our claim (the previous owner, still
        // fenced only by its lease): read again, their commit is part of the state.
        if (!(err instanceof TwinError && err.code === 'TWIN_FENCED')) throw err;
      }
    }
  }

  /**
   * Forgets the vshard's twins in memory (it moved away, or restarts from its log). The
   * local copy is dropped only when `dropLocal` (the vshard moved to another node, whose
   * claim makes it stale for good); a node shutting down keeps it for its next start.
   */
  closeVshard(vshard: number, dropLocal = false): void {
    if (dropLocal) this.cache?.drop(vshard);
    this.owned.delete(vshard);
    for (const path of this.paths.get(vshard) ?? []) this.local.forget(path);
    this.paths.delete(vshard);
  }

  /**
   * Whether a join from a twin of vshard `from`, sent under `epoch`, may apply to vshard
   * `vshard` (see {@link JoinEpochs}): false for an epoch older than one taken already.
   */
  admitJoin(vshard: number, from: number, epoch: number | undefined): boolean {
    return this.owned.get(vshard)?.joins.admit(from, epoch) ?? true;
  }

  /**
   * Writes the vshard's snapshot now, after the commits already on their way (a graceful
   * handoff: the next owner restores from it instead of replaying the log since the last
   * one). Nothing to do when nothing but this owner's claim followed the last snapshot.
   * A failure is left to the caller to log: the log is whole without it.
   */
  async checkpoint(vshard: number): Promise<void> {
    const owned = this.owned.get(vshard);
    if (owned === undefined || this.broken.has(vshard)) return;
    const run = owned.chain.then(async () => {
      if (this.owned.get(vshard) !== owned || this.broken.has(vshard) || owned.sinceSnapshot <= 1) return;
      if (!this.gate(vshard, owned.epoch))
        throw new TwinError('TWIN_FENCED', `this node no longer owns vshard ${vshard}`, { vshard });
      await this.snapshot(vshard, owned);
    });
    owned.chain = run.catch(() => undefined);
    await run;
  }

  /**
   * No append of the vshard starts from now on, and those under way have finished when this
   * resolves: called as it stops, before {@link closeVshard}, so no append (a watermark-only
   * commit of {@link settled}) lands in the log after the local copy stopped following it.
   */
  async quiesce(vshard: number): Promise<void> {
    const owned = this.owned.get(vshard);
    if (owned === undefined) return;
    owned.closing = true;
    await owned.chain;
  }

  /** The twins of an open vshard held here. */
  pathsOf(vshard: number): string[] {
    return [...(this.paths.get(vshard) ?? [])];
  }

  /**
   * A twin's state, only from a vshard open here. Anything else would answer "no state"
   * for a twin whose vshard is closed or being restored (a load that waited for a commit
   * to settle while its vshard was reset), and that twin would start empty, take input and
   * commit over its stored history.
   */
  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined> {
    const vshard = this.vshardOf(path);
    if (!this.owned.has(vshard))
      throw new TwinError('TWIN_FENCED', `vshard ${vshard} of ${path} is not open on this node (now)`, { vshard });
    return this.local.load(path);
  }

  async write(batch: readonly StateWrite[]): Promise<void> {
    const byVshard = new Map<number, StateWrite[]>();
    const localOnly: StateWrite[] = [];
    for (const w of batch) {
      if (w.op === 'journal') {
        localOnly.push(w); // the journal stays on the node (docs/cluster.md)
        continue;
      }
      const v = this.vshardOf(w.path);
      let list = byVshard.get(v);
      if (list === undefined) byVshard.set(v, (list = []));
      list.push(w);
    }
    if (localOnly.length > 0) await this.local.write(localOnly);
    const results = await Promise.allSettled([...byVshard].map(([v, ops]) => this.append(v, ops)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason as Error;
  }

  list(prefix: string): Iterable<string> {
    return this.local.list(prefix);
  }

  history(path: string, query: HistoryQuery): HistoryPage {
    return this.local.history(path, query);
  }

  async close(): Promise<void> {
    clearInterval(this.headTimer);
    for (const v of [...this.paths.keys()]) this.closeVshard(v);
    await this.cache?.close();
  }

  /**
   * The vshard's state from the local copy, when the copy's mark is the log's last message
   * (same stream, sequence and epoch): nobody appended since this node wrote it, so it is
   * exactly what the log would fold to. Otherwise undefined, and the log is read.
   */
  private async fromCache(vshard: number): Promise<RestoredLog | undefined> {
    if (this.cache === undefined) return undefined;
    const head = await this.log.head(vshard);
    if (head === null) return undefined;
    const mark = this.cache.current(vshard, { stream: await this.streamId(), ...head });
    if (mark === undefined) return undefined;
    return {
      ops: this.cache.read(vshard),
      lastSeq: head.seq,
      watermark: mark.watermark,
      sinceSnapshot: mark.sinceSnapshot,
      joinEpochs: mark.joinEpochs,
    };
  }

  private streamIdOnce: Promise<string> | undefined;

  private streamId(): Promise<string> {
    const once = (this.streamIdOnce ??= this.log.streamId());
    once.catch(() => (this.streamIdOnce = undefined));
    return once;
  }

  /** The local copy's mark after the append that ended at `seq`. */
  private async mark(owned: OwnedVshard, seq: number, watermark: number): Promise<CacheMark> {
    return {
      stream: await this.streamId(),
      seq,
      epoch: owned.epoch,
      watermark,
      sinceSnapshot: owned.sinceSnapshot,
      joinEpochs: owned.joins.entries(),
    };
  }

  /** Appends one vshard's part of a commit after the previous one, then snapshots when due. */
  /**
   * The vshard's low-water mark moved: when no commit follows soon to record it (the last
   * events of a burst), a commit without writes records it, so a restart replays little
   * and `cluster status` shows the input applied. At most one per vshard per 200 ms.
   */
  settled(vshard: number): void {
    if (this.marking.has(vshard)) return;
    this.marking.add(vshard);
    setTimeout(() => {
      this.marking.delete(vshard);
      const owned = this.owned.get(vshard);
      const low = this.lowWater(vshard);
      if (owned === undefined || low === undefined || low <= owned.watermark) return;
      this.append(vshard, []).catch(() => undefined); // a failure breaks the vshard (see append)
    }, 200).unref();
  }

  private append(vshard: number, ops: StateWrite[]): Promise<void> {
    const owned = this.owned.get(vshard);
    if (owned === undefined || owned.closing || !this.gate(vshard, owned.epoch))
      return Promise.reject(new TwinError('TWIN_FENCED', `this node does not own vshard ${vshard} (now)`, { vshard }));
    if (this.broken.has(vshard))
      return Promise.reject(
        new TwinError('TWIN_CLUSTER_UNAVAILABLE', `vshard ${vshard} is being restored after a failed commit`, {
          vshard,
        }),
      );
    // Never the highest $seq written: an earlier event of a twin held back may still be
    // on its way, and a restart after the highest would skip it (see InputConsumer.lowWater).
    const watermark = Math.max(owned.watermark, this.lowWater(vshard) ?? 0);
    const run = owned.chain.then(async () => {
      if (this.owned.get(vshard) !== owned || !this.gate(vshard, owned.epoch))
        throw new TwinError('TWIN_FENCED', `this node no longer owns vshard ${vshard}`, { vshard });
      if (this.broken.has(vshard))
        throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', `vshard ${vshard} is being restored after a failed commit`);
      // The join fence goes with the first commit after it changed: what that commit applied obeyed it.
      const joinsVersion = owned.joins.version;
      const joins = joinsVersion !== owned.joinsRecorded ? owned.joins.entries() : undefined;
      try {
        owned.lastSeq = (await this.log.append(vshard, 'c', owned.epoch, watermark, ops, owned.lastSeq, joins)).last;
        owned.joinsRecorded = joinsVersion;
      } catch (err) {
        this.broken.add(vshard);
        this.onBroken(vshard);
        throw err;
      }
      owned.watermark = watermark;
      // Here, in the vshard's chain: the memory copy takes commits in log order. Applied after
      // a whole batch instead, a later commit's record could be overwritten by an earlier
      // one, and a twin reloaded from it would skip (by its $seq) the events in between.
      const held = this.paths.get(vshard);
      if (held !== undefined && this.owned.get(vshard) === owned) {
        for (const op of ops) held.add(op.path);
        await this.local.write(ops);
        if (this.cache) await this.cache.commit(vshard, ops, await this.mark(owned, owned.lastSeq, watermark));
      }
      if (++owned.sinceSnapshot >= SNAPSHOT_EVERY)
        await this.snapshot(vshard, owned).catch(() => {
          // The commit itself is in the log and stands. A snapshot cut short may have left
          // parts behind, so the vshard is opened again from its log before the next commit.
          this.broken.add(vshard);
          this.onBroken(vshard);
        });
    });
    owned.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the whole vshard as one snapshot, then purges the log before it and the input
   * the snapshot includes: storage stays proportional to the twins, not to their history.
   */
  private async snapshot(vshard: number, owned: OwnedVshard): Promise<void> {
    const ops: StateWrite[] = [];
    for (const path of this.paths.get(vshard) ?? []) ops.push(...this.local.dump(path));
    const joinsVersion = owned.joins.version;
    const { first, last } = await this.log.append(
      vshard,
      's',
      owned.epoch,
      owned.watermark,
      ops,
      owned.lastSeq,
      owned.joins.entries(),
    );
    owned.lastSeq = last;
    owned.sinceSnapshot = 0;
    owned.joinsRecorded = joinsVersion;
    void this.cache?.commit(vshard, [], await this.mark(owned, last, owned.watermark));
    await this.log.compact(vshard, first);
    if (owned.watermark > 0)
      await this.jsm.streams.purge(this.names.inputStream, {
        filter: this.names.input(vshard),
        seq: owned.watermark + 1,
      });
  }
}
