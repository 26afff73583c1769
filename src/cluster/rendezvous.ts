/**
 * Highest-random-weight (rendezvous) placement: the owner of vshard `v` is the live node
 * with the highest hash of (node, v). Every node computes the same answer from the same
 * member list, with no coordinator; when a node joins or leaves, only the vshards it wins
 * or held move (about 1/n of them), unlike `hash % n`.
 *
 * @example
 * ```ts
 * rendezvousOwner(['a', 'b', 'c'], 17); // 'b', on every node
 * ```
 */
export function rendezvousOwner(nodes: readonly string[], vshard: number): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = weightOf(node, vshard);
    // Ties (astronomically rare) go to the smaller id, so every node still agrees.
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}

/** The vshards (of `count`) that `node` owns among `nodes`. */
export function vshardsOf(node: string, nodes: readonly string[], count: number): number[] {
  const mine: number[] = [];
  for (let v = 0; v < count; v++) if (rendezvousOwner(nodes, v) === node) mine.push(v);
  return mine;
}

/** A 32-bit mix of FNV-1a(node) and v (murmur3's finaliser), stable across versions and platforms. */
function weightOf(node: string, vshard: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) {
    h ^= node.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul(vshard + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
