import type { KV, KvEntry } from '@nats-io/kv';
import type { TwinLogger } from '../model/twin-model.js';

const decoder = new TextDecoder();
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

  constructor(
    private readonly bucket: KV,
    private readonly log: TwinLogger,
    /** The bucket's live entries (NatsLink.leaseEntries: read without a consumer). */
    private readonly list: () => Promise<KvEntry[]>,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    const watch = await this.bucket.watch({ key: 'v.*' });
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const e of watch) {
        const v = Number(e.key.slice(2));
        if (e.operation === 'PUT') this.owners.set(v, nodeOf(e.value));
        else this.owners.delete(v);
      }
    })().catch((err: Error) => this.log.warn({ err: err.message }, 'cluster: lease watch ended'));
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), RESYNC_MS);
    this.timer.unref();
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
    for (const entry of await this.list()) owners.set(Number(entry.key.slice(2)), nodeOf(entry.value));
    this.owners = owners;
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopWatch?.();
  }
}

function nodeOf(value: Uint8Array): string {
  return (JSON.parse(decoder.decode(value)) as { node: string }).node;
}
