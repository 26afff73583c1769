/**
 * The cluster's local copy of vshard state (src/cluster/vshard-cache.ts) against a simple
 * model, in real LMDB: after any sequence of commits (records, entry puts, entry deletes,
 * whole-lane deletes), a replace and a reopen, the copy reads back exactly what a
 * MemoryStateStore given the same writes holds; a mark is current only for the exact
 * (stream, sequence, epoch); a dropped vshard reads as nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { VshardCache, type CacheMark } from '../../src/cluster/vshard-cache.js';
import { createLogger } from '../../src/logger.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';
import type { StateWrite } from '../../src/store/state-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const log = createLogger('silent');

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'twinflow-vshard-cache-'));
  dirs.push(d);
  return d;
}

const path = fc.constantFrom('/a/1', '/a/2', '/b/1');
const lane = fc.constantFrom('m', 'n');
const key = fc.constantFrom('x', 'y', 'z', '');
const write: fc.Arbitrary<StateWrite> = fc.oneof(
  fc.record({
    op: fc.constant('record' as const),
    path,
    values: fc.dictionary(fc.constantFrom('t', 'u'), fc.integer()),
  }),
  fc.record({ op: fc.constant('put' as const), path, lane, key, value: fc.oneof(fc.integer(), fc.string()) }),
  fc.record({ op: fc.constant('del' as const), path, lane, key }),
  fc.record({ op: fc.constant('del' as const), path, lane }),
);

const PATHS = ['/a/1', '/a/2', '/b/1', '/c/1'];

/**
 * What a memory store holds after `commits`, as sorted writes: the copy is compared the way
 * a node uses it (its writes loaded into an empty memory store), whatever order it reads in.
 * An empty record is left out: the memory store makes one for a twin that only ever had
 * entries written (a real twin's first commit always has its record).
 */
async function held(...commits: (readonly StateWrite[])[]): Promise<string[]> {
  const mem = new MemoryStateStore();
  for (const c of commits) await mem.write(c);
  return PATHS.flatMap((p) => mem.dump(p))
    .filter((w) => w.op !== 'record' || Object.keys(w.values).length > 0)
    .map((w) => JSON.stringify(w))
    .sort();
}

const mark = (seq: number, epoch = 7): CacheMark => ({
  stream: 's1',
  seq,
  epoch,
  watermark: seq * 10,
  sinceSnapshot: seq,
  joinEpochs: [[1, seq]],
});

describe('VshardCache: the local copy of vshard state', () => {
  it('reads back what the same commits leave in a memory store, across a replace and a reopen', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { maxLength: 6 }),
        fc.array(fc.array(write, { maxLength: 5 }), { maxLength: 8 }),
        async (base, commits) => {
          const dir = tempDir();
          let cache = VshardCache.open(dir, log);
          // A restore from the log gives the folded base, then commits follow in order.
          const mem = new MemoryStateStore();
          await mem.write(base);
          cache.replace(
            3,
            PATHS.flatMap((p) => mem.dump(p)),
            mark(1),
          );
          let seq = 1;
          for (const c of commits) await cache.commit(3, c, mark(++seq));
          await cache.close();

          cache = VshardCache.open(dir, log);
          expect(cache.current(3, { stream: 's1', seq, epoch: 7 })).toMatchObject({
            watermark: seq * 10,
            joinEpochs: [[1, seq]],
          });
          expect(await held(cache.read(3))).toEqual(await held(base, ...commits));
          // Any other log head is not current; another vshard has nothing.
          expect(cache.current(3, { stream: 's1', seq: seq + 1, epoch: 7 })).toBeUndefined();
          expect(cache.current(3, { stream: 's1', seq, epoch: 8 })).toBeUndefined();
          expect(cache.current(3, { stream: 's2', seq, epoch: 7 })).toBeUndefined();
          expect(cache.current(4, { stream: 's1', seq, epoch: 7 })).toBeUndefined();

          // A replace supersedes everything before it; nothing of the old copy shows through.
          cache.replace(3, [{ op: 'record', path: '/c/1', values: { t: 1 } }], mark(seq + 5, 9));
          await cache.close();
          cache = VshardCache.open(dir, log);
          expect(cache.current(3, { stream: 's1', seq: seq + 5, epoch: 9 })).toBeDefined();
          expect(await held(cache.read(3))).toEqual(await held([{ op: 'record', path: '/c/1', values: { t: 1 } }]));

          // Dropped (moved away): never current again.
          cache.drop(3);
          await cache.close();
          cache = VshardCache.open(dir, log);
          expect(cache.current(3, { stream: 's1', seq: seq + 5, epoch: 9 })).toBeUndefined();
          await cache.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
