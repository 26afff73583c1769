/**
 * Lane state and derived events holding Maps, Dates and bytes (which the store keeps, see
 * storable-roundtrip.test.ts) reach readers as what they hold, not as `{}`: HTTP reads and
 * history, WARP links in JSON and Recon through the real client, and `/signals`. At the
 * default flags: 2 worker threads, LMDB strict in a temp dir, real sockets.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WarpClient } from '../../src/client/index.js';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { afterEachTest } from '../support/cleanup.js';
import { richValueModels, richValueModelSource } from '../support/rich-value-model.js';
import { takeSseEvents } from '../support/sse.js';
import { tempDir } from '../support/tmp.js';

const ALBUM = '/album/1';
const DATA = {
  names: [
    ['a', 1],
    ['constructor', 2],
    ['c', 3],
  ],
  at: Date.UTC(2026, 11, 7, 6),
  bytes: [1, 2, 255],
};
const AT = '2026-12-07T06:00:00.000Z';
const BY_NAME = { a: 1, constructor: 2, c: 3 };
/** The JSON form of the lane value (`richValue(DATA)`). */
const META = {
  byName: BY_NAME,
  byNumber: [
    [1, 'n1'],
    [2, 'n2'],
    [3, 'n3'],
  ],
  at: AT,
  raw: 'AQL/',
};

const nodes: TwinflowNode[] = [];
const clients: WarpClient[] = [];
afterEachTest(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close();
});

async function node(): Promise<TwinflowNode> {
  const n = await startNode({
    models: richValueModels(),
    modelSource: richValueModelSource(),
    workers: 2,
    dataDir: tempDir(),
    durability: 'strict',
    journal: true,
    port: 0,
    logger: pino({ level: 'silent' }),
  });
  nodes.push(n);
  return n;
}

/** A value as a client parses it from the server's JSON text. */
function own(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('Maps, Dates and bytes in lane state and derived events', () => {
  it('read over HTTP as objects, pair lists, ISO text and base64; in history too', async () => {
    const n = await node();
    expect((await n.runtime.ingest([{ subject: ALBUM, type: 'set', data: DATA }])).rejected).toEqual([]);
    const read = (await (await fetch(`${n.url}/twins${ALBUM}`)).json()) as { lanes: Record<string, unknown> };
    expect(read.lanes.meta).toEqual(own(META));
    expect(read.lanes.entries).toEqual(own({ names: BY_NAME }));
    const history = (await (await fetch(`${n.url}/twins${ALBUM}/history`)).json()) as {
      entries: { changes: [string, string | null, unknown, unknown][] }[];
    };
    const changes = history.entries.flatMap((e) => e.changes);
    expect(changes.find(([lane]) => lane === 'meta')?.[3]).toEqual(own(META));
  });

  it.each(['json', 'recon'] as const)('reach a WARP link (%s) through the client', async (encoding) => {
    const n = await node();
    const c = new WarpClient({ url: n.url.replace(/^http/, 'ws') + '/', encoding, WebSocket });
    clients.push(c);
    const meta = c.twin(ALBUM).sync('meta');
    await meta.synced;
    await n.runtime.ingest([{ subject: ALBUM, type: 'set', data: DATA }]);
    for await (const { event } of meta) if (event.type === 'value' && event.value !== null) break;
    // Recon carries bytes as a blob: the client gives them back as bytes.
    const expected = encoding === 'json' ? own(META) : { ...(own(META) as object), raw: Uint8Array.of(1, 2, 255) };
    expect(meta.value).toEqual(expected);
  });

  it('fail the turn of event data too large to write out (shared at every level), not the node', async () => {
    const n = await node();
    const report = await n.runtime.ingest([{ subject: ALBUM, type: 'bomb', data: {} }]);
    expect(report.rejected).toMatchObject([{ error: { code: 'TWIN_TURN_FAILED' } }]);
    expect(report.rejected[0]!.error.message).toMatch(/more than 1000000 values/);
    expect((await n.runtime.ingest([{ subject: ALBUM, type: 'set', data: DATA }])).rejected).toEqual([]);
  });

  it('reach /signals readers in derived event data', async () => {
    const n = await node();
    const res = await fetch(`${n.url}/signals`);
    const reader = res.body!.getReader();
    await n.runtime.ingest([{ subject: ALBUM, type: 'set', data: DATA }]);
    let text = '';
    for (;;) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      const { events } = takeSseEvents<{ type: string; data: unknown }>(text);
      const set = events.find((e) => e.type === 'album.set');
      if (set) {
        expect(set.data).toEqual(own({ byName: BY_NAME, at: AT }));
        break;
      }
    }
    await reader.cancel();
  });
});
