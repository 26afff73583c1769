import type { KV, KvEntry } from '@nats-io/kv';
import { ThrottledWarning } from '../logger.js';
import type { TwinLogger } from '../model/twin-model.js';
import { leaseNode, leaseVshard } from './lease-entries.js';

/** Full re-read of the leases: nats-server 2.9 tells watchers nothing when a key expires. */
const RESYNC_MS = 3_000;

/**
 * Which node holds each vshard's lease now, from the `<space>-leases` bucket: watched for
 * changes and re-read in full every few seconds (an expired lease sends no event). A
 * request routed by it may still meet a node that just lost the vshard; that node
 * answers TWIN_NOT_OWNER and the sender asks again after {@link refresh}.
 */
export class OwnerDirectory {
  private owners = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private readonly unreadable: ThrottledWarning;

  constructor(
    private readonly bucket: KV,
    private readonly log: TwinLogger,
    /** The bucket's live entries (NatsLink.leaseEntries: read without a consumer). */
    private readonly list: () => Promise<KvEntry[]>,
  ) {
    this.unreadable = new ThrottledWarning(log, 'cluster: a lease entry names no node; ignored', 10_000);
  }

  async start(): Promise<void> {
    await this.refresh();
    const watch = await this.bucket.watch({ key: 'v.*' });
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const e of watch) {
        const v = leaseVshard(e.key);
        if (v === undefined) continue;
        const node = e.operation === 'PUT' ? this.nodeOf(e) : undefined;
        if (node !== undefined) this.owners.set(v, node);
        else this.owners.delete(v);
      }
    })().catch((err: Error) => this.log.warn({ err: err.message }, 'cluster: lease watch ended'));
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), RESYNC_MS);
    this.timer.unref();
  }

  /**
   * The node a lease entry names, or undefined when it names none (not JSON, no string
   * `node`): another writer's entry in the bucket. Skipped and said once per 10 s; it made
   * the watch end and every full re-read fail, so the directory stopped following leases.
   */
  private nodeOf(entry: KvEntry): string | undefined {
    const node = leaseNode(entry);
    if (node === undefined) this.unreadable.note({ key: entry.key });
    return node;
  }

  /** The node holding `vshard`'s lease, if any is known. */
  ownerOf(vshard: number): string | undefined {
    return this.owners.get(vshard);
  }

  /** Every node that holds a lease now. */
  nodes(): string[] {
    return [...new Set(this.owners.values())].sort();
  }

  /** vshard → node, as known now. */
  snapshot(): ReadonlyMap<number, string> {
    return this.owners;
  }

  async refresh(): Promise<void> {
    const owners = new Map<number, string>();
    for (const entry of await this.list()) {
      const v = leaseVshard(entry.key);
      const node = v === undefined ? undefined : this.nodeOf(entry);
      if (node !== undefined) owners.set(v!, node);
    }
    this.owners = owners;
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopWatch?.();
  }
}
