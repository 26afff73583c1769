/**
 * The WARP client in a real browser: src/client bundled by esbuild for the browser platform
 * (no Node polyfills), loaded by a page in headless Debian chromium, talking to a real node
 * over the browser's own WebSocket. The page POSTs what it sees to the test's page server,
 * so no browser driver is needed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleClient, hasChromium, launchChromium, startPageServer, type PageServer } from '../support/browser.js';
import { ROOM, UNIT, warpNode } from '../support/warp.js';

const CLIMATE = `${ROOM}/sensors/climate`;
/** Generous for a loaded 2-core machine (chromium starts in well under a second when idle). */
const PAGE_MS = 20_000;
const UPDATE_MS = 10_000;

/*
 * The page: links with the browser's WebSocket (no option passed, so the client takes
 * globalThis.WebSocket), syncs the room's temperature, reports the synced value, then
 * every later change; it also sends a command and reports when the unit's `secured`
 * lane shows it, and 4000 commands to another unit at once (more than the server takes in
 * one frame). Any failure, the import included, is reported as kind "error".
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>twinflow client in a browser</title>
<script type="module">
  const q = new URLSearchParams(location.search);
  const run = q.get('run');
  const report = (kind, data = {}) =>
    fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ run, kind, ...data }) });
  addEventListener('unhandledrejection', (e) => report('error', { message: String(e.reason && e.reason.stack || e.reason) }));
  try {
    const { WarpClient } = await import('./client.js');
    const client = new WarpClient({ url: q.get('ws'), encoding: q.get('encoding') });
    let synced = false;
    const link = client.sync(q.get('room'), 'temperature', {
      onEvent: (event) => { if (synced) report('update', { event }); },
    });
    await link.synced;
    synced = true;
    await report('synced', {
      value: link.value, status: client.status,
      nativeWebSocket: String(WebSocket).includes('[native code]'), userAgent: navigator.userAgent,
    });
    const secured = client.sync(q.get('unit'), 'secured', {
      onEvent: (event) => { if (event.value === true) report('secured'); },
    });
    await secured.synced;
    client.command(q.get('unit'), 'secure', true);
    // ~290 KB of commands in one go: the client splits them into frames under the server's
    // 256 KiB limit and hands them over as the browser's socket buffer drains.
    for (let i = 0; i < 4000; i++) client.command(q.get('other'), 'secure', i % 2 === 0);
    report('burst');
  } catch (e) {
    report('error', { message: String(e && e.stack || e) });
  }
</script>
`;

async function commandsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^twinflow_commands_total (\d+)/m.exec(text)![1]);
}

// Bundling does not need chromium: it runs wherever the suite does.
describe('the client bundled for browsers', () => {
  it('builds with esbuild for the browser platform, from our sources only', async () => {
    const { code, inputs } = await bundleClient();
    // No node_modules: no ws, no polyfills, nothing else that would have to work in a browser.
    expect(inputs.filter((p) => !p.startsWith('src/'))).toEqual([]);
    expect(inputs).toContain('src/client/index.ts');
    expect(code).toMatch(/export\s*\{[^}]*\bWarpClient\b/);
  });
});

if (!hasChromium)
  console.warn(
    'client-browser.test.ts: chromium is not installed, the real-browser tests are skipped (scripts/install-system-deps.sh chromium)',
  );

describe.skipIf(!hasChromium)('the client in headless chromium', () => {
  let pages: PageServer;
  beforeAll(async () => {
    pages = await startPageServer(PAGE, (await bundleClient()).code);
  });
  afterAll(async () => {
    await pages?.close();
  });

  it.each(['recon', 'json'] as const)('syncs a lane, sees a live update and sends a command (%s)', async (encoding) => {
    const node = await warpNode();
    const commandsBefore = await commandsTotal(node.url);
    // A state to sync that is not the lane's initial value.
    await node.runtime.ingest({ subject: CLIMATE, data: { temperature: 21.5, humidity: 40 } });
    await node.runtime.settle();

    const run = randomUUID();
    const other = UNIT.replace(/unit\/j$/, 'unit/k');
    const query = new URLSearchParams({ run, encoding, ws: node.ws, room: ROOM, unit: UNIT, other });
    const browser = launchChromium(`${pages.url}/page.html?${query.toString()}`);
    const wait = (kind: string, ms: number) =>
      pages.next(run, kind, ms, browser.exited).catch((err: Error) => {
        throw new Error(`${err.message}\nchromium stderr (tail):\n${browser.stderr()}`);
      });
    try {
      const synced = await wait('synced', PAGE_MS);
      expect(synced).toMatchObject({ value: 21.5, status: 'open', nativeWebSocket: true });
      expect(synced['userAgent']).toContain('HeadlessChrome');

      // Only now that the browser is linked: a change it can only learn about live.
      await node.runtime.ingest({ subject: CLIMATE, data: { temperature: 23, humidity: 40 } });
      const update = await wait('update', UPDATE_MS);
      expect(update['event']).toEqual({ type: 'value', value: 23 });

      await wait('secured', UPDATE_MS);
      expect(await node.runtime.get(UNIT, 'secured')).toBe(true);

      await wait('burst', UPDATE_MS);
      await expect.poll(() => commandsTotal(node.url), { timeout: UPDATE_MS }).toBe(commandsBefore + 4001);
      expect(await node.runtime.get(other, 'secured')).toBe(false); // the last of them
    } finally {
      await browser.close();
    }
  });
});
