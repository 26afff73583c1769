/**
 * `GET /twins/{path}/history` and `GET /twins/{path}?at=` on a long journal (bug bash 4):
 * a history was read whole (200 000 entries: a 119 MB answer, `/healthz` waiting 12 s) and
 * `?at=` loaded the whole journal to roll back. A history is now read a page at a time with
 * a cursor, and `?at=` reads the journal backwards in chunks, up to a bound.
 */
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import type { HistoryPage, HistoryQuery } from '../../src/store/state-store.js';
import { afterEachTest } from '../support/cleanup.js';
import { defaultNode, stopNode } from '../support/default-node.js';

const SENSOR = '/org/contoso/site/berlin/building/9/floor/1/unit/a/room/1/sensors/climate';

interface Entry {
  time: number;
  cause: { kind: string; id?: string };
  changes: [string, string | null, unknown, unknown][];
}
interface Page {
  path: string;
  from: number;
  to: number;
  entries: Entry[];
  next: string | null;
}

/** `n` readings of SENSOR with ids `h<from>`… and temperature = their number, in batches. */
async function readings(node: TwinflowNode, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i += 2500) {
    const batch = [];
    for (let j = i; j < Math.min(from + n, i + 2500); j++)
      batch.push({ subject: SENSOR, id: `h${j}`, source: 'hist', data: { temperature: j, humidity: 40 } });
    expect((await node.runtime.ingest(batch)).rejected).toEqual([]);
  }
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** Every entry of SENSOR's history, following `next` with `limit` per page; checks each page's size. */
async function allPages(
  node: TwinflowNode,
  query: string,
  between: (page: number) => Promise<void> = async () => {},
): Promise<{ entries: Entry[]; pages: number }> {
  const limit = Number(/limit=(\d+)/.exec(query)?.[1] ?? 1000);
  const entries: Entry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const { status, body } = await get(
      `${node.url}/twins${SENSOR}/history?${query}${cursor === null ? '' : `&cursor=${cursor}`}`,
    );
    expect(status, JSON.stringify(body).slice(0, 300)).toBe(200);
    const page = body as Page;
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    if (page.next !== null) expect(page.entries.length).toBe(limit);
    entries.push(...page.entries);
    cursor = page.next;
    await between(++pages);
  } while (cursor !== null);
  return { entries, pages };
}

const ids = (entries: Entry[]) => entries.filter((e) => e.cause.kind === 'event').map((e) => e.cause.id);
const numbered = (from: number, n: number) => Array.from({ length: n }, (_, i) => `h${from + i}`);

describe('GET /twins/{path}/history in pages', () => {
  it('reads a history of more than a page in pages, none skipped or repeated, also while it grows', async () => {
    const node = await defaultNode(undefined, { journal: true });
    await readings(node, 2500);

    // Without `limit`: the default page, and a cursor.
    const first = await get(`${node.url}/twins${SENSOR}/history`);
    expect(first.status).toBe(200);
    expect(first.body.entries).toHaveLength(1000);
    expect(first.body.next).toEqual(expect.any(String));

    // Many entries share a millisecond: pages must split them by journal position, not by time.
    const { entries, pages } = await allPages(node, 'limit=700', async (page) => {
      if (page === 1) await readings(node, 5, 2500); // written between two pages
    });
    expect(pages).toBe(Math.ceil(entries.length / 700));
    expect(ids(entries)).toEqual(numbered(0, 2505));
    // Oldest first, in time order.
    expect(entries.every((e, i) => i === 0 || e.time >= entries[i - 1]!.time)).toBe(true);

    // A range: a cursor goes on within the same from/to.
    const from = entries[1000]!.time;
    const to = entries[2000]!.time;
    const ranged = await allPages(node, `from=${from}&to=${to}&limit=300`);
    expect(ranged.entries).toEqual(entries.filter((e) => e.time >= from && e.time <= to));
    expect(ranged.entries.length).toBeGreaterThan(900);

    // Bounds of a page and cursors the server did not issue.
    for (const q of ['limit=10001', 'limit=0', 'limit=1e3', 'limit=0x10', 'limit=']) {
      const bad = await get(`${node.url}/twins${SENSOR}/history?${q}`);
      expect(bad, q).toMatchObject({
        status: 400,
        body: { code: 'TWIN_QUERY_INVALID', details: { parameter: 'limit' } },
      });
    }
    expect((await get(`${node.url}/twins${SENSOR}/history?limit=10000`)).body.entries.length).toBe(entries.length);
    for (const c of [
      '',
      'abc',
      Buffer.from('/org/x').toString('base64url'),
      Buffer.from('1'.repeat(31)).toString('base64url'),
    ]) {
      expect(await get(`${node.url}/twins${SENSOR}/history?cursor=${c}`), c).toMatchObject({
        status: 400,
        body: { code: 'TWIN_QUERY_INVALID', message: 'cursor is not one this server issued' },
      });
    }
  }, 60_000);

  it('pages the in-memory journal the same way', async () => {
    const node = await startNode({
      models: buildingModels(),
      port: 0,
      journal: true,
      logger: pino({ level: 'silent' }),
    });
    afterEachTest(() => node.close());
    await readings(node, 1000);
    const { entries, pages } = await allPages(node, 'limit=300', async (page) => {
      if (page === 2) await readings(node, 3, 1000);
    });
    expect(pages).toBeGreaterThanOrEqual(4);
    expect(ids(entries)).toEqual(numbered(0, 1003));
    // Read backwards for ?at= too.
    const at = entries.find((e) => e.cause.id === 'h100')!.time;
    const expected = Math.max(...ids(entries.filter((e) => e.time <= at)).map((id) => Number(id!.slice(1))));
    expect((await get(`${node.url}/twins${SENSOR}?at=${at}&lanes=latest`)).body).toMatchObject({
      lanes: { latest: { temperature: expected } },
    });
  }, 30_000);

  it('answers /healthz while a large history is paged', async () => {
    const node = await defaultNode(undefined, { journal: true });
    await readings(node, 5000);
    // /healthz every 10 ms from before the first page to after the last; each answer's time is noted.
    const answered: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${node.url}/healthz`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        answered.push(performance.now());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const start = performance.now();
    const { entries, pages } = await allPages(node, 'limit=1000').finally(() => (polling = false));
    const end = performance.now();
    await poller;
    expect(ids(entries)).toEqual(numbered(0, 5000));
    expect(pages).toBeGreaterThanOrEqual(5);
    // Answered between the pages, not once the whole history was out.
    expect(answered.filter((t) => t > start && t < end).length).toBeGreaterThanOrEqual(pages - 1);
  }, 60_000);
});

describe('GET /twins/{path}?at= on a long journal', () => {
  it('rolls back across chunks of the journal, and refuses past the bound, naming it', async () => {
    const node = await defaultNode(undefined, { journal: true });
    await readings(node, 2500);
    const { entries } = await allPages(node, 'limit=10000');
    // A time with ~2000 entries after it: undone in several chunks of 1000.
    const at = entries.find((e) => e.cause.id === 'h500')!.time;
    const expected = Math.max(...ids(entries.filter((e) => e.time <= at)).map((id) => Number(id!.slice(1))));
    const newer = entries.filter((e) => e.time > at).length;
    expect(newer).toBeGreaterThan(1500);

    const then = await get(`${node.url}/twins${SENSOR}?at=${at}&lanes=latest`);
    expect(then).toMatchObject({ status: 200, body: { lanes: { latest: { temperature: expected } } } });
    expect((await get(`${node.url}/twins${SENSOR}?at=0`)).body.lanes).toMatchObject({ latest: null });

    // The bound: exactly `newer` entries to undo is within it, one fewer is not.
    const path = SENSOR;
    expect((await node.runtime.readAt(path, at, { maxEntries: newer })).lanes).toMatchObject({
      latest: { temperature: expected },
    });
    await expect(node.runtime.readAt(path, at, { maxEntries: newer - 1 })).rejects.toMatchObject({
      code: 'TWIN_QUERY_INVALID',
      details: { maxEntries: newer - 1 },
    });

    // Over HTTP, with the bound lowered to 1000 (the default, 100 000, would take a long journal to reach).
    const readAt = node.runtime.readAt.bind(node.runtime);
    vi.spyOn(node.runtime, 'readAt').mockImplementation((p, t) => readAt(p, t, { maxEntries: 1000 }));
    const refused = await get(`${node.url}/twins${SENSOR}?at=${at}`);
    expect(refused).toMatchObject({
      status: 400,
      body: { code: 'TWIN_QUERY_INVALID', details: { path: SENSOR, at, maxEntries: 1000 } },
    });
    expect(refused.body.message).toMatch(/would roll back more than 1000 journal entries/);
    expect(refused.body.message).toContain(new Date(at).toISOString());
  }, 60_000);

  it('refuses a read past the bound from a count of the journal, decoding none of its entries', async () => {
    for (const options of [{ journal: true }, { journal: true, workers: 0, dataDir: undefined }]) {
      // The default node (LMDB, worker threads), and one thread on the in-memory store.
      const node = await defaultNode(undefined, options);
      await readings(node, 1500);
      const host = (node.runtime as unknown as { host: { history(p: string, q: HistoryQuery): Promise<HistoryPage> } })
        .host;
      const queries: HistoryQuery[] = [];
      const history = host.history.bind(host);
      vi.spyOn(host, 'history').mockImplementation((p, q) => (queries.push(q), history(p, q)));

      await expect(node.runtime.readAt(SENSOR, 0, { maxEntries: 1000 })).rejects.toMatchObject({
        code: 'TWIN_QUERY_INVALID',
        details: { maxEntries: 1000 },
      });
      // No page of entries was read, and the count went no further than the bound.
      expect(queries).toEqual([expect.objectContaining({ countOnly: true, limit: 1001 })]);

      // The store counts no further than the limit it is given (LMDB's getKeysCount did: a
      // busy twin's whole journal, for every past-state read).
      const count = (limit: number) =>
        history(SENSOR, { from: 0, to: Number.MAX_SAFE_INTEGER, limit, countOnly: true });
      expect((await count(10)).count).toBe(10);
      expect((await count(1_000_000)).count).toBeGreaterThanOrEqual(1500);

      // Within the bound: counted, then rolled back from the entries, as before.
      queries.length = 0;
      expect((await node.runtime.readAt(SENSOR, 0, { maxEntries: 1500 })).lanes).toMatchObject({ latest: null });
      expect(queries[0]).toMatchObject({ countOnly: true });
      expect(queries.slice(1).length).toBeGreaterThanOrEqual(2);
      expect(queries.slice(1).every((q) => q.countOnly !== true)).toBe(true);
      await stopNode(node);
    }
  }, 60_000);
});
