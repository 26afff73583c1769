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
    await kv.create(KEY, encoder.encode(JSON.stringify(shape)));
    return; // the first node of the space: its shape is the space's
  } catch (err) {
    // Anything but "the key exists" (a timeout of a forming cluster) is for the caller to retry.
    if (!/wrong last sequence|key exists/i.test((err as Error).message)) throw err;
  }
  const entry = await kv.get(KEY);
  const recorded = entry ? parseShape(decoder.decode(entry.value)) : undefined;
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

function parseShape(text: string): SpaceShape | undefined {
  try {
    const v = JSON.parse(text) as { vshards?: unknown };
    return Number.isInteger(v.vshards) && (v.vshards as number) > 0 ? { vshards: v.vshards as number } : undefined;
  } catch {
    return undefined;
  }
}
