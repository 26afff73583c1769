/**
 * The dashboard in a real browser: a node with the demo feed running (the building model,
 * a simulated fleet publishing over the node's own MQTT front), Debian's chromium driven by
 * playwright-core (no browser download). The test adds its own site next to the demo's, so
 * what it checks (a reading, a fire, a command) cannot be confused with the feed's own
 * episodes. Screenshots land in test-artifacts/dashboard/ (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSet } from '../../models/index.js';
import { runDemoFeed } from '../../src/cli/demo.js';
import { createLogger } from '../../src/logger.js';
import { startNode, type TwinflowNode } from '../../src/node/node.js';
import { newToken } from '../../src/access/secrets.js';
import { hasChromium } from '../support/browser.js';
import { tempDir } from '../support/tmp.js';

const SITE = '/org/demo/site/t1';
const UNIT = `${SITE}/building/b0/floor/0/unit/u0`;
const ROOM = `${UNIT}/room/0`;
const ARTIFACTS = 'test-artifacts/dashboard';
/** Generous for a loaded 2-core machine: chromium, the bundle and the feed share it. */
const UI_MS = 15_000;

if (!hasChromium)
  console.warn(
    'dashboard-browser.test.ts: chromium is not installed, the dashboard test is skipped (scripts/install-system-deps.sh chromium)',
  );

describe.skipIf(!hasChromium)('the dashboard in headless chromium, with the demo feed', () => {
  let node: TwinflowNode;
  let browser: Browser;
  let page: Page;
  let mqtt: MqttClient;
  const stopFeed = new AbortController();
  let feed: Promise<void>;
  const problems: string[] = [];
  /**
   * Chromium logs every non-2xx answer to a fetch as a console error ("Failed to load
   * resource"), including the refusal the command test provokes on purpose: that one (a 422,
   * while the test expects it) is counted here instead of as a problem.
   */
  let refusalExpected = false;
  const refusalsLogged: string[] = [];

  const publish = async (sensor: string, data: unknown): Promise<void> => {
    await mqtt.publishAsync(`${ROOM}/sensors/${sensor}`.slice(1), JSON.stringify(data), { qos: 1 });
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const logger = createLogger('warn');
    node = await startNode({
      modelSet: modelSet.with({ offlineAfter: 15_000 }),
      port: 0,
      mqtt: { port: 0 },
      logger,
    });
    feed = runDemoFeed(node, logger, { rate: 150, signal: stopFeed.signal });
    mqtt = await connectAsync(node.ingestion.mqtt!.url, { reconnectPeriod: 0 });
    // The test's own room: it exists before the page opens (the tree lists live twins).
    await publish('climate', { temperature: 21, humidity: 40 });
    await publish('fire', { alarm: false, smoke: 0.01 });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (refusalExpected && m.text().includes('status of 422')) refusalsLogged.push(m.text());
      else problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // The feed's stream is aborted when the page goes away; anything else failing is a defect.
      if (!r.url().endsWith('/signals')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    stopFeed.abort();
    await feed;
    await mqtt?.endAsync();
    await node?.close();
  });

  it('opens the tree down to a room and shows a reading published over MQTT', async () => {
    await page.goto(`${node.url}/`);
    // The demo feed moves the overview and the health bar within seconds of opening.
    await page.locator('.room').first().waitFor({ timeout: UI_MS });
    await expect
      .poll(() => page.locator('[data-testid=events-per-second]').textContent(), { timeout: UI_MS })
      .toMatch(/^[1-9]\d*$/);
    await page.screenshot({ path: `${ARTIFACTS}/overview.png` });

    for (const path of ['/org/demo', SITE, `${SITE}/building/b0`, `${SITE}/building/b0/floor/0`, UNIT]) {
      await page.locator(`[data-path="${path}"] [data-testid=expand]`).click({ timeout: UI_MS });
    }
    await page.locator(`[data-path="${ROOM}"] a.name`).click({ timeout: UI_MS });
    const temperature = page.locator('[data-twin] code[data-lane=temperature]');
    await expect.poll(() => temperature.textContent(), { timeout: UI_MS }).toBe('21');

    await publish('climate', { temperature: 23.25, humidity: 40 });
    await expect.poll(() => temperature.textContent(), { timeout: UI_MS }).toBe('23.25');
    await expect.poll(() => page.locator('[data-testid=last-change]').textContent()).toMatch(/\d\d:\d\d:\d\d/);
    await page.screenshot({ path: `${ARTIFACTS}/room.png` });

    // One click on the join table's key opens the sensor: its window lane is a uPlot chart.
    await page.locator('[data-twin] table[data-lane=sensors] a', { hasText: 'sensors/climate' }).click();
    await page.locator('[data-twin] .lane.window .chart canvas').waitFor({ timeout: UI_MS });
    await expect.poll(() => page.locator('[data-twin]').getAttribute('data-twin')).toBe(`${ROOM}/sensors/climate`);
  });

  it('shows the evacuation a fire reading causes, with its site one click away', async () => {
    await publish('fire', { alarm: true, smoke: 0.9 });
    const evacuation = page.locator(`.feed [data-type=evacuation]:has(a[title="${SITE}"])`);
    await evacuation.first().waitFor({ timeout: UI_MS });
    await page.screenshot({ path: `${ARTIFACTS}/feed.png` });
    await evacuation.first().locator('a').click();
    await expect.poll(() => page.locator('[data-twin]').getAttribute('data-twin'), { timeout: UI_MS }).toBe(SITE);
    await expect
      .poll(() => page.locator('[data-twin] code[data-lane=alarm]').textContent(), { timeout: UI_MS })
      .toBe('true');
  });

  it('sends a command from the page, and shows the server refusing a bad one', async () => {
    await page.goto(`${node.url}/#${UNIT}`);
    const form = page.locator('form[data-command=secure]');
    await form.locator('[data-send=true]').click({ timeout: UI_MS });
    await expect
      .poll(() => form.locator('[data-testid=command-result]').textContent(), { timeout: UI_MS })
      .toBe('accepted (202)');
    expect(await node.runtime.get(UNIT, 'secured')).toBe(true);
    await expect
      .poll(() => page.locator('[data-twin] code[data-lane=secured]').textContent(), { timeout: UI_MS })
      .toBe('true');

    refusalExpected = true;
    await form.locator('input').fill('"yes"');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => form.locator('[data-testid=command-result]').textContent(), { timeout: UI_MS })
      .toMatch(/^422 TWIN_PAYLOAD_REJECTED: .*secure takes true or false$/);
    refusalExpected = false;
    expect(refusalsLogged).toHaveLength(1);
    expect(await node.runtime.get(UNIT, 'secured')).toBe(true);
  });

  it('logged no console errors, page errors or failed requests', () => {
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('the dashboard on a node with access rules, in headless chromium', () => {
  it('asks for a token, then shows what a read-only principal may read and the 403 of its command', async () => {
    const reader = newToken();
    const file = join(tempDir(), 'access.json');
    writeFileSync(
      file,
      JSON.stringify({
        principals: { viewer: { tokens: [reader.stored], grants: [{ paths: ['/org/**'], rights: ['read'] }] } },
      }),
    );
    const node = await startNode({ modelSet, port: 0, mqtt: { port: 0 }, access: file, logger: createLogger('warn') });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu'],
    });
    const logged: string[] = [];
    try {
      await node.runtime.ingest({ subject: `${ROOM}/sensors/climate`, data: { temperature: 20.5, humidity: 40 } });
      const page = await browser.newPage();
      page.on('console', (m) => m.type() === 'error' && logged.push(m.text()));
      page.on('pageerror', (e) => logged.push(`page error: ${e.message}`));
      await page.goto(`${node.url}/#${UNIT}`);
      const signIn = page.locator('form.signin');
      await signIn.waitFor({ timeout: UI_MS });
      await signIn.locator('input').fill(reader.token);
      await signIn.locator('button').click();
      // Signed in (the page reloads): the tree and the unit's lanes, read with the token over HTTP and WARP.
      await page.locator('[data-path="/org/demo"]').waitFor({ timeout: UI_MS });
      await expect
        .poll(() => page.locator('[data-twin] code[data-lane=secured]').textContent(), { timeout: UI_MS })
        .toBe('false');
      const form = page.locator('form[data-command=secure]');
      await form.locator('[data-send=true]').click();
      await expect
        .poll(() => form.locator('[data-testid=command-result]').textContent(), { timeout: UI_MS })
        .toMatch(/^403 TWIN_FORBIDDEN: /);
      expect(await node.runtime.get(UNIT, 'secured')).toBe(false);
      // The only console errors are chromium's lines for the answers this test provoked: the 401s
      // before signing in, the 403 of the command and of /metrics (the viewer may not scrape).
      expect(logged.filter((l) => !/status of (401|403)/.test(l))).toEqual([]);
    } finally {
      await browser.close();
      await node.close();
    }
  });
});
