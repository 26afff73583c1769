import type { KvEntry } from '@nats-io/kv';
import type { MemberInfo } from './membership.js';

// How a node reads the entries of the space's membership and lease buckets. Other clients
// of the NATS account may write there too (a stray tool, a node of a broken build): an
// entry these do not accept is skipped by every reader — the node's own views and `cluster
// status` alike — instead of failing the read or putting a phantom in the view.

const decoder = new TextDecoder();

function json(entry: KvEntry): unknown {
  try {
    return JSON.parse(decoder.decode(entry.value));
  } catch {
    return undefined;
  }
}

/**
 * The node of a membership entry, or undefined for an entry that is no node's own: not
 * JSON, no string `id`, a `startedAt` that is no number, or a key other than `n.<id>`. A
 * stray value would put a node into the view that takes no vshard, and its share would
 * go unowned.
 */
export function memberOf(entry: KvEntry): MemberInfo | undefined {
  const info = json(entry) as Partial<MemberInfo> | null | undefined;
  if (info === null || typeof info !== 'object' || typeof info.id !== 'string' || info.id.length === 0)
    return undefined;
  if (info.startedAt !== undefined && typeof info.startedAt !== 'number') return undefined;
  return entry.key === `n.${info.id}` ? (info as MemberInfo) : undefined;
}

/** The vshard of a lease key (`v.<n>`), or undefined for a key no node writes. */
export function leaseVshard(key: string): number | undefined {
  const v = Number(key.slice(2));
  return key.startsWith('v.') && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** The node a lease entry names, or undefined when it names none (not JSON, no string `node`). */
export function leaseNode(entry: KvEntry): string | undefined {
  const node = (json(entry) as { node?: unknown } | null | undefined)?.node;
  return typeof node === 'string' && node.length > 0 ? node : undefined;
}
