import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import type { StateWrite, StoredTwin } from '../../src/store/state-store.js';

/**
 * `LmdbStateStore.load` and `scan` split each entry key into lane and key (`scan` tests
 * entry keys against a twin's path in place). Against a plain model (what was written,
 * per twin, lane and key): paths that are prefixes of each other, lane names that are
 * prefixes of each other, keys shared between lanes or not, keys holding the separator;
 * and both skip the entries of a twin whose record says `$e: 0` (one rule: a twin restores
 * the same whether it starts on demand or by `warm`).
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Model = Map<string, Map<string, Map<string, number>>>;

const lane = fc.constantFrom('a', 'ab', 'b', 'abc', 'ba');
const key = fc.constantFrom('k', 'k1', 'k\u001f', '\u001fk', '/x/y', '/x', '', 'kk');
const twin = fc.dictionary(lane, fc.dictionary(key, fc.integer({ min: 0, max: 9 }), { maxKeys: 6 }), {
  maxKeys: 4,
});
/** `e`: the record's `$e`; 0 says the twin has no entries, so any found are orphans (a lane a model removed). */
const twins = fc.dictionary(
  fc.constantFrom('/t/1', '/t/1/c', '/t/10', '/t/2', '/t'),
  fc.record({ lanes: twin, e: fc.constantFrom(0, 1, 1) }),
  { minKeys: 1 },
);

/** What the store should hand back, as plain nested objects (entry order aside). */
function plain(stored: StoredTwin | undefined): Record<string, Record<string, unknown>> | undefined {
  if (!stored) return undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [l, m] of stored.entries) out[l] = Object.fromEntries(m);
  return out;
}

describe('LmdbStateStore entries on load', () => {
  it('load and scan return every entry under its lane and key, as written, and none of a record that says it has none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-load-entries-'));
    dirs.push(dir);
    const store = LmdbStateStore.open({ path: dir, durability: 'relaxed' });
    let round = 0;
    try {
      await fc.assert(
        fc.asyncProperty(twins, async (spec) => {
          // Each round under its own prefix: nothing of an earlier round shows.
          const base = `/r${round++}`;
          const model: Model = new Map();
          const writes: StateWrite[] = [];
          for (const [path, { lanes, e }] of Object.entries(spec)) {
            const full = base + path;
            writes.push({ op: 'record', path: full, values: { $v: 1, $e: e } });
            const m = new Map<string, Map<string, number>>();
            for (const [l, entries] of Object.entries(lanes)) {
              if (Object.keys(entries).length === 0) continue;
              if (e === 1) m.set(l, new Map(Object.entries(entries)));
              for (const [k, v] of Object.entries(entries))
                writes.push({ op: 'put', path: full, lane: l, key: k, value: v });
            }
            model.set(full, m);
          }
          await store.write(writes);
          await store.sync();
          const expected = (p: string): Record<string, Record<string, unknown>> => {
            const out: Record<string, Record<string, unknown>> = {};
            for (const [l, m] of model.get(p)!) out[l] = Object.fromEntries(m);
            return out;
          };
          for (const p of model.keys()) expect(plain(store.load(p)), p).toEqual(expected(p));
          const scanned = new Map([...store.scan(base)].map(([p, t]) => [p, plain(t)]));
          expect(new Set(scanned.keys())).toEqual(new Set(model.keys()));
          for (const p of model.keys()) expect(scanned.get(p), `scan ${p}`).toEqual(expected(p));
        }),
        { numRuns: 60 },
      );
    } finally {
      await store.close();
    }
  });
});
