/**
 * Stored state that decodes but cannot be restored, and damage found twice in one load
 * (review finding R4, next to store-safety.test.ts's #13.8). A record whose lane value has
 * the wrong type (a flipped msgpack byte can do that and still decode) made its model's
 * restore throw: every call of the twin failed with TWIN_STORE_FAILED, which MQTT treats
 * as retryable (no PUBACK: the device resends forever) and HTTP answered with 500. Now it
 * is set aside like a record that does not decode: quarantined, counted, logged, and the
 * twin starts fresh, on the synchronous (LMDB) and asynchronous load paths alike.
 */
import { open as openLmdb } from 'lmdb';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { MemoryStateStore, startNode, type TwinflowNode } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { closeClients, CLIMATE, mqttClient, ROOM, topicOf } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';

const OTHER = `${ROOM.slice(0, ROOM.lastIndexOf('/'))}/5/sensors/climate`;
/** Decodes (an object, a lane value that is an object) but the window lane cannot restore it: `samples.slice` is no function. */
const UNRESTORABLE = { latest: { temperature: 20, humidity: 40 }, hourlyTemperature: { samples: 5 } };

const nodes: TwinflowNode[] = [];
afterEach(async () => {
  await closeClients();
  for (const n of nodes.splice(0)) await n.close();
});

/** Bounded wait (a withheld PUBACK would otherwise only show as the suite's timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function latest(url: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/twins${path}?lanes=latest`);
  return { status: res.status, body: await res.json() };
}

async function post(url: string, subject: string, temperature: number): Promise<number> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, data: { temperature, humidity: 40 } }),
  });
  return res.status;
}

async function corruptTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^twinflow_records_corrupt_total (\d+)$/m.exec(text)?.[1]);
}

describe('R4 stored state a model cannot restore', () => {
  for (const workers of [0, 2]) {
    it(`R4 a record that decodes but cannot be restored is quarantined with its entries, counted, and the twin starts fresh: HTTP reads and writes and an MQTT QoS 1 publish succeed (${workers} workers)`, async () => {
      const dir = tempDir();
      const seed = LmdbStateStore.open({ path: dir });
      await seed.write([
        { op: 'record', path: CLIMATE, values: UNRESTORABLE },
        {
          op: 'put',
          path: CLIMATE,
          lane: 'hourlyTemperature',
          key: '0',
          value: { start: 0, end: 1, count: 1, sum: 20, min: 20, max: 20 },
        },
        { op: 'record', path: OTHER, values: { latest: { temperature: 30, humidity: 40 }, $e: 0 } },
      ]);
      await seed.close();

      const node = await startNode({
        models: buildingModels(),
        modelSource: buildingModelSource(),
        workers,
        dataDir: dir,
        port: 0,
        logger: pino({ level: 'silent' }),
        mqtt: { port: 0 },
      });
      nodes.push(node);
      // The old code answered 500 (TWIN_STORE_FAILED) here, on every call.
      for (let i = 0; i < 2; i++) {
        const read = await latest(node.url, CLIMATE);
        expect(read.status).toBe(200);
        expect(read.body.lanes.latest).toBeNull(); // started fresh
      }
      const device = await mqttClient(node.ingestion.mqtt!.url, { protocolVersion: 4 });
      await within(
        device.publishAsync(topicOf(CLIMATE), JSON.stringify({ temperature: 24, humidity: 40 }), { qos: 1 }),
        10_000,
        'PUBACK',
      );
      expect((await latest(node.url, CLIMATE)).body.lanes.latest).toMatchObject({ temperature: 24 });
      expect(await post(node.url, CLIMATE, 25)).toBe(202);
      expect((await latest(node.url, CLIMATE)).body.lanes.latest).toMatchObject({ temperature: 25 });
      expect((await latest(node.url, OTHER)).body.lanes.latest).toMatchObject({ temperature: 30 });
      await node.runtime.settle();
      expect(await corruptTotal(node.url)).toBe(1);
      await node.close();
      nodes.length = 0;

      // The record and its entry are kept aside; what a restart restores is the fresh state.
      const store = LmdbStateStore.open({ path: dir });
      expect([...store.quarantined()].map((q) => [q.db, q.key]).sort()).toEqual([
        ['entries', `${CLIMATE}\u001fhourlyTemperature\u001f0`],
        ['records', CLIMATE],
      ]);
      const now = store.load(CLIMATE)!;
      expect(now.values.latest).toMatchObject({ temperature: 25 });
      expect(now.entries.get('hourlyTemperature')?.has('0') ?? false).toBe(false);
      await store.close();
    }, 60_000);

    it(`R4 a twin whose record and entries are both damaged loads in the first call, both quarantined (${workers} workers)`, async () => {
      const dir = tempDir();
      await LmdbStateStore.open({ path: dir }).close(); // a directory this build made (its timer index exists)
      const raw = openLmdb({ path: dir, maxDbs: 12 });
      const records = raw.openDB<Buffer, string>({ name: 'records', encoding: 'binary' });
      const entries = raw.openDB<Buffer, string>({ name: 'entries', encoding: 'binary' });
      const garbage = Buffer.from('c1deadbeef00ff', 'hex'); // 0xc1 is never valid msgpack
      await records.put(CLIMATE, garbage);
      await entries.put(`${CLIMATE}\u001fhourlyTemperature\u001f0`, garbage);
      await raw.close();

      const node = await startNode({
        models: buildingModels(),
        modelSource: buildingModelSource(),
        workers,
        dataDir: dir,
        port: 0,
        logger: pino({ level: 'silent' }),
      });
      nodes.push(node);
      // The old code failed this first call (the second load met the damaged entry): 500.
      const read = await latest(node.url, CLIMATE);
      expect(read.status).toBe(200);
      expect(read.body.lanes.latest).toBeNull();
      expect(await post(node.url, CLIMATE, 21)).toBe(202);
      await node.runtime.settle();
      expect(await corruptTotal(node.url)).toBe(2);
      await node.close();
      nodes.length = 0;
      const store = LmdbStateStore.open({ path: dir });
      expect([...store.quarantined()].map((q) => q.db).sort()).toEqual(['entries', 'records']);
      await store.close();
    }, 60_000);
  }

  it('R4 warm starts such a twin fresh too instead of failing the whole warm', async () => {
    const dir = tempDir();
    const seed = LmdbStateStore.open({ path: dir });
    await seed.write([
      { op: 'record', path: CLIMATE, values: UNRESTORABLE },
      { op: 'record', path: OTHER, values: { latest: { temperature: 30, humidity: 40 }, $e: 0 } },
    ]);
    await seed.close();
    const node = await startNode({
      models: buildingModels(),
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    nodes.push(node);
    expect((await fetch(`${node.url}/twins/warm`, { method: 'POST' })).status).toBe(200); // the old code: 500
    expect(node.runtime.activePaths()).toContain(OTHER); // (the fresh one has no state yet, so it is not kept live)
    expect((await latest(node.url, CLIMATE)).body.lanes.latest).toBeNull();
    expect((await latest(node.url, OTHER)).body.lanes.latest).toMatchObject({ temperature: 30 });
    expect(await corruptTotal(node.url)).toBe(1);
  }, 30_000);

  it('R4 on the asynchronous load path (a store whose loads are promises) too: the twin starts fresh and the store drops the record', async () => {
    const store = new MemoryStateStore().withLoadDelay(5);
    await store.write([{ op: 'record', path: CLIMATE, values: UNRESTORABLE }]);
    const node = await startNode({ models: buildingModels(), store, port: 0, logger: pino({ level: 'silent' }) });
    nodes.push(node);
    const read = await latest(node.url, CLIMATE); // the old code: 500 on every call
    expect(read.status).toBe(200);
    expect(read.body.lanes.latest).toBeNull();
    expect(await post(node.url, CLIMATE, 22)).toBe(202);
    expect((await latest(node.url, CLIMATE)).body.lanes.latest).toMatchObject({ temperature: 22 });
    expect(await corruptTotal(node.url)).toBe(1);
    expect(await store.load(CLIMATE)).toMatchObject({ values: { latest: { temperature: 22 } } });
  }, 30_000);
});
