import type { Uplink } from './uplink.js';

/**
 * The wildcard links of one socket that cost the shards work, bounded by `maxWildcardLinks`
 * (review R8). Syncing a wildcard link is one synchronous pass per shard over every stored
 * twin it matches (a store read and a throwaway restore each, up to `--max-link-twins`), so
 * without a bound one socket could queue a thousand such passes in one frame.
 *
 * A link holds its slot while it is open AND while its sync still runs: the shard does the
 * pass whether or not the client has unlinked meanwhile, so `@sync` + `@unlink` pairs must
 * not free slots before the work they started is done. A link closed before it was
 * attached (denied, or unlinked while the authorizer decided) started nothing and frees
 * its slot at once.
 *
 * @example
 * ```ts
 * const slots = new WildcardSlots(16);
 * if (!slots.full) { slots.hold(up); slots.syncing(up, link.synced); }
 * slots.closed(up); // on unlink: freed when the sync has settled
 * ```
 */
export class WildcardSlots {
  private readonly held = new Set<Uplink>();
  private readonly running = new Set<Uplink>();

  constructor(readonly limit: number) {}

  /** Slots taken: open wildcard links plus closed ones whose sync still runs. */
  get size(): number {
    return this.held.size;
  }

  get full(): boolean {
    return this.held.size >= this.limit;
  }

  /** `up` (a wildcard link just opened) takes a slot; check {@link full} first. */
  hold(up: Uplink): void {
    this.held.add(up);
  }

  /** `up`'s sync runs in the shards until `done` settles (either way). */
  syncing(up: Uplink, done: Promise<unknown>): void {
    this.running.add(up);
    const settled = (): void => {
      this.running.delete(up);
      if (up.isClosed) this.held.delete(up);
    };
    done.then(settled, settled);
  }

  /** `up` closed: its slot is free now, or once its sync has settled. */
  closed(up: Uplink): void {
    if (!this.running.has(up)) this.held.delete(up);
  }
}
