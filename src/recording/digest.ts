import { createHash } from 'node:crypto';
import { toWireJs } from '../protocol/wire-js.js';
import type { Runtime } from '../runtime/runtime.js';

/**
 * JSON with object keys sorted at every level, so equal states give equal text whatever
 * order their keys were inserted in (join entries arrive in step-dependent order). Maps,
 * dates and bytes count by their contents, as a reader sees them (toWireJs): two states
 * that differ only inside a Map must not digest alike.
 */
export function canonicalJson(value: unknown): string {
  return canonical(toWireJs(value));
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

/** The final state of a run: a sha256 over every twin and the number of twins it covers. */
export interface StateDigest {
  digest: string;
  twins: number;
}

/**
 * sha256 over every twin (live or stored), sorted by path: `path \n model \n canonical
 * lane JSON \n`. Lane state is all of it (value, map, join and window lanes); command and
 * supply lanes hold no state and timers are bookkeeping, so neither is included. Reads
 * go in batches so one step serves thousands of them.
 *
 * @example
 * ```ts
 * const { digest, twins } = await stateDigest(rt); // 'a3f…', 51 210
 * ```
 */
export async function stateDigest(rt: Runtime, filter = '/**', batch = 4096): Promise<StateDigest> {
  await rt.settle();
  const twins = await rt.listTwins(filter, { limit: Infinity }); // a digest covers every twin
  const hash = createHash('sha256');
  for (let i = 0; i < twins.length; i += batch) {
    const snapshots = await Promise.all(twins.slice(i, i + batch).map((t) => rt.read(t.path)));
    for (const s of snapshots) hash.update(`${s.path}\n${s.model}\n${canonicalJson(s.lanes)}\n`);
  }
  return { digest: hash.digest('hex'), twins: twins.length };
}
