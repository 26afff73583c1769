import type { Kvm } from '@nats-io/kv';
import { TwinError } from '../errors.js';

/**
 * What every node of a twin space must agree on for as long as the space exists, kept in
 * NATS beside its streams (bucket `<space>-space`, key `shape`, no expiry): the vshard count.
 * The first node records it; every later node (and every worker thread's link) compares.
 *
 * Why durable and not announced in the heartbeat like the store format: vshard `v` of a
 * space cut into 128 holds other twins than vshard `v` of one cut into 256, and leases are
 * per vshard number. A node started with another count would take leases nobody else holds
 * for twins another node already runs (a second copy of each, both writing), and the input
 * stored under the old numbering would never reach its twins. That holds even when no node
 * of the old count is alive (a whole-cluster restart with a changed flag), so a check of
 * live nodes alone would miss it.
 */
export interface SpaceShape {
  readonly vshards: number;
}

const KEY = 'shape';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Records `shape` as the space's if it has none yet, else checks it is the recorded one;
 * throws TWIN_CONFIG_INVALID naming both counts when it is not.
 */
export async function claimSpaceShape(
  kvm: Kvm,
  bucket: string,
  space: string,
  shape: SpaceShape,
  replicas: number,
): Promise<void> {
  const kv = await kvm.create(bucket, { history: 1, replicas });
  try {
    await kv.create(KEY, encoder.encode(JSON.stringify(shape))); // no record yet (or a deleted one): ours
  } catch (err) {
    // Anything but "the key exists" (a timeout of a forming cluster) is for the caller to retry.
    if (!/wrong last sequence|key exists/i.test((err as Error).message)) throw err;
  }
  // Read back even after our create succeeded: on nats-server 2.9 the create's "no such key
  // yet" check is not part of the servers' consensus, so two nodes starting a space at the
  // same moment may both be told they created it. The last write stands, and a node that reads
  // another count than its own is refused. (This narrows that race; it cannot close it.)
  const entry = await kv.get(KEY);
  // Not readable yet (a replica behind the write): a plain error, which the caller retries.
  if (entry === null || entry.operation !== 'PUT') throw new Error(`the shape of space ${space} is not readable yet`);
  const recorded = parseShape(decoder.decode(entry.value));
  if (recorded === undefined) {
    // Written by hand or damaged: say so rather than guess which count the stored state has.
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `cluster space ${space}: its recorded shape (key "${KEY}" of bucket ${bucket}) is unreadable; restore it as {"vshards":<count>} with the count the space was created with`,
    );
  }
  if (recorded.vshards !== shape.vshards)
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `cluster space ${space} is cut into ${recorded.vshards} vshards, this node was started with --cluster-vshards ${shape.vshards}: every node of a space uses the count it was created with (docs/cluster.md)`,
      { space, vshards: recorded.vshards, given: shape.vshards },
    );
}

/** The space's recorded shape, if it has one (for `twinflow cluster status`); never records one. */
export async function readSpaceShape(kvm: Kvm, bucket: string): Promise<SpaceShape | undefined> {
  let kv;
  try {
    kv = await kvm.open(bucket);
  } catch {
    return undefined; // a space from before the shape was recorded
  }
  const entry = await kv.get(KEY).catch(() => null);
  return entry === null || entry.operation !== 'PUT' ? undefined : parseShape(decoder.decode(entry.value));
}

function parseShape(text: string): SpaceShape | undefined {
  try {
    const v = JSON.parse(text) as { vshards?: unknown };
    return Number.isInteger(v.vshards) && (v.vshards as number) > 0 ? { vshards: v.vshards as number } : undefined;
  } catch {
    return undefined;
  }
}
