import type { KV, KvEntry } from '@nats-io/kv';
import { ThrottledWarning } from '../logger.js';
import type { TwinLogger } from '../model/twin-model.js';
import { monotonicMs } from './monotonic.js';

/** What a node says of itself in the membership bucket, refreshed every heartbeat. */
export interface MemberInfo {
  readonly id: string;
  /** Where clients can reach it (HTTP base URL, WARP URL), when it serves them. */
  readonly http?: string;
  readonly warp?: string;
  /** Wall-clock ms of its start (for `cluster status`). */
  readonly startedAt: number;
  /**
   * The store format its build reads and writes (docs/persistence.md); absent: 1 (builds
   * from before it was announced). Nodes of one space must agree (docs/cluster.md).
   */
  readonly format?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The live nodes of a space: each node puts its {@link MemberInfo} under `n.<id>` every
 * heartbeat; the bucket forgets a key 3 heartbeats after its last put. nats-server 2.9
 * sends watchers nothing when a key expires, so the view is polled (a listing per
 * heartbeat, see liveEntries) rather than watched. {@link stable} answers only once the set of ids has
 * not changed for `stableMs`: vshards move on a settled view, not on every flap.
 *
 * @example
 * ```ts
 * const members = new Membership(link.nodes, { id: 'a', startedAt: Date.now() }, 2000, log, () => link.members());
 * await members.beat();
 * members.stable(); // ['a', 'b'] once the view held still for 2 s
 * ```
 */
export class Membership {
  private view: string[] = [];
  private infos = new Map<string, MemberInfo>();
  private changedAt = monotonicMs();
  private left = false;
  /** Nodes of another store format already reported (see refresh). */
  private readonly reportedFormats = new Set<string>();
  /** Entries of the bucket that are no node's (see refresh), said once per 10 s. */
  private readonly unreadable: ThrottledWarning;

  constructor(
    private readonly bucket: KV,
    private self: MemberInfo,
    private readonly stableMs: number,
    private readonly log: TwinLogger,
    /** The bucket's live entries (NatsLink.members: read without a consumer). */
    private readonly list: () => Promise<KvEntry[]>,
  ) {
    this.unreadable = new ThrottledWarning(log, "cluster: a membership entry is no node's; ignored", 10_000);
  }

  /**
   * Announces this node (again), then refreshes the view. Errors are logged; the view
   * keeps its last state. Leases are renewed on their own timer, never behind this.
   */
  async beat(): Promise<void> {
    if (this.left) return;
    try {
      await this.bucket.put(`n.${this.self.id}`, encoder.encode(JSON.stringify(this.self)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster heartbeat failed');
      return;
    }
    await this.refresh().catch((err: Error) =>
      this.log.warn({ err: err.message }, 'cluster: reading the membership failed; the view is kept'),
    );
  }

  /** Where clients reach this node, from its next heartbeat on (known once its servers listen). */
  advertise(urls: { http?: string; warp?: string }): void {
    this.self = { ...this.self, ...urls };
  }

  /** The ids of live nodes when the view has been still for `stableMs`, else undefined. */
  stable(): readonly string[] | undefined {
    return monotonicMs() - this.changedAt >= this.stableMs ? this.view : undefined;
  }

  /** The current view (sorted ids), settled or not. */
  current(): readonly string[] {
    return this.view;
  }

  info(id: string): MemberInfo | undefined {
    return this.infos.get(id);
  }

  /** Live nodes (other than this one) whose build writes another store format than this one's. */
  otherFormats(): MemberInfo[] {
    const mine = this.self.format ?? 1;
    return [...this.infos.values()].filter((m) => m.id !== this.self.id && (m.format ?? 1) !== mine);
  }

  /** Removes this node's key: the others see it gone at their next heartbeat, not after the TTL. */
  async leave(): Promise<void> {
    this.left = true;
    await this.bucket.delete(`n.${this.self.id}`).catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    const infos = new Map<string, MemberInfo>();
    for (const entry of await this.list()) {
      const info = memberOf(entry);
      if (info === undefined) this.unreadable.note({ key: entry.key });
      else infos.set(info.id, info);
    }
    const view = [...infos.keys()].sort();
    if (view.length !== this.view.length || view.some((id, i) => id !== this.view[i])) {
      this.log.info({ nodes: view }, 'cluster membership changed');
      this.view = view;
      this.changedAt = monotonicMs();
    }
    this.infos = infos;
    // A node of another format that joined after this one: its restores of vshards this
    // node wrote (or the reverse) lose state. Said once per node, loudly; not enforced here.
    for (const other of this.otherFormats()) {
      if (this.reportedFormats.has(other.id)) continue;
      this.reportedFormats.add(other.id);
      this.log.error(
        { node: other.id, format: other.format ?? 1, ours: this.self.format ?? 1 },
        'cluster: a node of another store format joined the space; stop every node and upgrade them together (docs/cluster.md)',
      );
    }
  }
}

/**
 * The node of a membership entry, or undefined for an entry that is no node's own: not
 * JSON, no string `id`, no `startedAt` a Date can hold, `http`/`warp` that are no strings, a
 * `format` that is no integer, or a key other than `n.<id>`. A
 * stray value would put a node into the view that takes no vshard, and its share would
 * go unowned.
 */
export function memberOf(entry: KvEntry): MemberInfo | undefined {
  const info = json(entry) as Partial<MemberInfo> | null | undefined;
  if (info === null || typeof info !== 'object' || typeof info.id !== 'string' || info.id.length === 0)
    return undefined;
  // What `cluster status` prints of it must print: a start time a Date holds, URLs as strings.
  const started = info.startedAt;
  if (typeof started !== 'number' || !Number.isFinite(started) || Math.abs(started) > 8.64e15) return undefined;
  if (
    (info.http !== undefined && typeof info.http !== 'string') ||
    (info.warp !== undefined && typeof info.warp !== 'string')
  )
    return undefined;
  if (info.format !== undefined && !Number.isSafeInteger(info.format)) return undefined;
  return entry.key === `n.${info.id}` ? (info as MemberInfo) : undefined;
}

function json(entry: KvEntry): unknown {
  try {
    return JSON.parse(decoder.decode(entry.value));
  } catch {
    return undefined;
  }
}
