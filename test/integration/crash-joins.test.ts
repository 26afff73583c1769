import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { ModelCatalog } from '../../src/actors/catalog.js';
import { ownerOf } from '../../src/actors/ownership.js';
import { TwinPath, type TwinflowNode } from '../../src/index.js';
import type { WorkerShardHost } from '../../src/hosting/worker-host.js';
import { LOCK_FILE } from '../../src/store/data-lock.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import type { StateWrite } from '../../src/store/state-store.js';
import { defaultNode, stopNode } from '../support/default-node.js';
import { tempDir } from '../support/tmp.js';

/**
 * With several shards, a join update to a parent under another shard key (a building's to
 * its site) travels as a message, also when one worker owns both, and commits apart from
 * the child. A node killed in between (bug bash, 2026-12-07: kill -9 during ingest, 4-8 of
 * 16 sites disagreed with their buildings after the restart, `/settled` answered 200, and
 * nothing changed until each building was read) kept the parent's stale entry for good.
 * After a crash each worker now restores its stored twins whose parent has another shard
 * key, and they send their values again.
 *
 * The crash's outcome is made on purpose here, deterministically: the site's stored state
 * is put back to what it was before its building's last change, and the lock file is left
 * behind by a process that no longer exists, as SIGKILL leaves it.
 */
const SITE = '/org/o/site/s';
const catalog = new ModelCatalog(buildingModels());
const owner = (p: string): number => ownerOf(catalog, TwinPath.parse(p), 2);
const buildings = Array.from({ length: 20 }, (_, i) => `${SITE}/building/b${i}`);
/** A building on the other worker than its site, and one on the same (its joins travel as messages too). */
const CASES = [
  ['another worker', buildings.find((b) => owner(b) !== owner(SITE))!],
  ['the same worker', buildings.find((b) => owner(b) === owner(SITE))!],
] as const;
const fireOf = (building: string): string => `${building}/floor/1/unit/u/room/r/sensors/fire`;

/** A node as `npm start` runs one: a worker per core (2 here), LMDB strict. */
const start = (dataDir: string): Promise<TwinflowNode> => defaultNode(dataDir);
const stop = stopNode;

async function fire(n: TwinflowNode, building: string, alarm: boolean, id: string): Promise<void> {
  const r = await n.runtime.ingest({
    subject: fireOf(building),
    id,
    source: 'test',
    data: { alarm, smoke: alarm ? 9 : 0 },
  });
  expect(r.rejected).toEqual([]);
  await n.runtime.settle();
}

/** Writes `stored` back as the twin's state (its record; its entries, replaced). */
async function putBack(dataDir: string, path: string, stored: ReturnType<LmdbStateStore['load']>): Promise<void> {
  const store = LmdbStateStore.open({ path: dataDir });
  try {
    const writes: StateWrite[] = [{ op: 'record', path, values: stored!.values }];
    for (const lane of store.load(path)?.entries.keys() ?? []) writes.push({ op: 'del', path, lane });
    for (const [lane, entries] of stored!.entries)
      for (const [key, value] of entries) writes.push({ op: 'put', path, lane, key, value });
    await store.write(writes);
  } finally {
    await store.close();
  }
}

/** A lock file naming a process that has exited: what SIGKILL leaves behind. */
function lockOfDeadProcess(dataDir: string): void {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(child.stdout.toString());
  writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid, since: new Date().toISOString() }) + '\n');
}

/**
 * Alarms `building` and stops, then clears it on a second run: resolves with the node of
 * that second run still open, and the site's stored state from when it was in alarm (what
 * the site would hold had it missed the building's last join).
 */
async function clearedAfterAlarm(
  dataDir: string,
  building: string,
): Promise<{ n: TwinflowNode; siteInAlarm: StoredSite }> {
  const first = await start(dataDir);
  await fire(first, building, true, 'a1');
  expect((await first.runtime.read(SITE)).lanes.alarm).toBe(true);
  await stop(first);
  const store = LmdbStateStore.open({ path: dataDir });
  const siteInAlarm = store.load(SITE);
  await store.close();
  const n = await start(dataDir);
  await fire(n, building, false, 'a2');
  expect((await n.runtime.read(SITE)).lanes.alarm).toBe(false);
  return { n, siteInAlarm };
}
type StoredSite = ReturnType<LmdbStateStore['load']>;

const hostOf = (n: TwinflowNode): WorkerShardHost => (n.runtime as unknown as { host: WorkerShardHost }).host;

describe('after a crash, parents under another shard key get their children values again', () => {
  it.each(CASES)(
    'a site whose stored view of its building (on %s) is stale is brought up to date by the restart (default flags)',
    async (_where, BUILDING) => {
      const dataDir = tempDir('tf-crash-joins-');
      const { n: second, siteInAlarm } = await clearedAfterAlarm(dataDir, BUILDING);
      await stop(second);

      // What a kill between the building's commit and the site's leaves: the building clear,
      // the site still holding its alarm, and the dead process's lock file.
      await putBack(dataDir, SITE, siteInAlarm);
      lockOfDeadProcess(dataDir);

      const n = await start(dataDir);
      await n.runtime.settle();
      const site = await n.runtime.read(SITE);
      expect(site.lanes.alarmSources).toEqual([]);
      expect(site.lanes.alarm).toBe(false);
      expect((await n.runtime.read(BUILDING)).lanes.alarm).toBe(false);
    },
  );
});

/**
 * The same loss without a process crash: a worker thread dies (a native fault, an abort of
 * its own) and the main thread restarts it. Joins other workers had forwarded to it and it
 * had not committed are gone; nothing acknowledges them, so nothing sent them again. Made
 * deterministically as above, but with a clean shutdown (no crash recovery at start: the
 * site stays stale), then the site's worker is killed.
 */
describe('after a worker thread dies, the parents it owns get their children values again', () => {
  it.each(CASES)(
    'a site whose view of its building (on %s) is stale is brought up to date by the worker restart (default flags)',
    async (_where, BUILDING) => {
      const dataDir = tempDir('tf-worker-crash-joins-');
      const { n: second, siteInAlarm } = await clearedAfterAlarm(dataDir, BUILDING);
      await stop(second);
      await putBack(dataDir, SITE, siteInAlarm);

      const n = await start(dataDir); // a clean start: the stale site is what it finds
      await n.runtime.settle();
      expect((await n.runtime.read(SITE)).lanes.alarm).toBe(true);

      await hostOf(n).crashWorker(owner(SITE));
      await n.runtime.settle();
      const site = await n.runtime.read(SITE);
      expect(site.lanes.alarmSources).toEqual([]);
      expect(site.lanes.alarm).toBe(false);
    },
  );

  it('live children on the other worker resend theirs too', async () => {
    const BUILDING = CASES[0][1];
    const dataDir = tempDir('tf-worker-crash-joins-');
    const { n, siteInAlarm } = await clearedAfterAlarm(dataDir, BUILDING);
    const host = hostOf(n);
    expect(host.activePaths()).toContain(BUILDING);
    // The site's stored state goes stale under the running node (LMDB takes a second
    // writer): what its worker had not committed of the building's join, lost with it.
    await putBack(dataDir, SITE, siteInAlarm);
    await host.crashWorker(owner(SITE));
    await n.runtime.settle();
    expect(host.activePaths()).toContain(BUILDING); // it stayed live: only a resend of a live twin brings it back
    expect((await n.runtime.read(SITE)).lanes.alarm).toBe(false);
  });
});
