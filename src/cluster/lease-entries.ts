import type { KvEntry } from '@nats-io/kv';

// How a node reads the entries of the space's lease bucket (membership entries: `memberOf`
// in membership.ts). Other clients of the NATS account may write there too (a stray tool,
// a node of a broken build): an entry these do not accept is skipped by every reader (the
// node's own directory and `cluster status` alike) instead of failing the read.

const decoder = new TextDecoder();

function json(entry: KvEntry): unknown {
  try {
    return JSON.parse(decoder.decode(entry.value));
  } catch {
    return undefined;
  }
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
