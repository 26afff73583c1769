import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { parseServeConfig } from '../../src/node/config/serve-config.js';
import { tempDir } from '../support/tmp.js';
import { rawClient } from '../support/warp.js';

/** 20 stored sensors in 2 buildings (both workers own some), 46 twins with their ancestors. */
const SENSORS = Array.from(
  { length: 20 },
  (_, i) => `/org/contoso/site/berlin/building/${i % 2}/floor/1/unit/a/room/${i}/sensors/climate`,
);
const ROOM = (i: number): string => `/org/contoso/site/berlin/building/${i % 2}/floor/1/unit/a/room/${i}`;

const nodes: TwinflowNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

/** A node at 2 workers on LMDB whose store holds the fleet, restarted so that no twin is live. */
async function storedFleet(options: Partial<NodeOptions> = {}): Promise<TwinflowNode & { ws: string }> {
  const dataDir = tempDir();
  const start = async (): Promise<TwinflowNode> => {
    const n = await startNode({
      models: buildingModels(),
      modelSource: buildingModelSource(),
      workers: 2,
      dataDir,
      port: 0,
      logger: pino({ level: 'silent' }),
      ...options,
    });
    nodes.push(n);
    return n;
  };
  const first = await start();
  const report = await first.runtime.ingest(
    SENSORS.map((subject, i) => ({ subject, data: { temperature: 20 + i, humidity: 40 } })),
  );
  expect(report.rejected).toEqual([]);
  nodes.splice(nodes.indexOf(first), 1);
  await first.close();
  const n = await start();
  return Object.assign(n, { ws: n.url.replace(/^http/, 'ws') + '/' });
}

/** Polls (bounded) until the runtime's observers are back to `expected`. */
async function observersBackTo(n: TwinflowNode, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await n.runtime.settle();
    const observers = n.runtime.stats().observers;
    if (observers === expected) return;
    if (Date.now() > deadline) throw new Error(`observers: ${observers}, expected ${expected}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tooMany = (limit: number): string =>
  `@tooManyLinks(code:TWIN_LINK_LIMIT,message:"at most ${limit} wildcard links per socket, counting unlinked ones whose sync still runs (--warp-max-wildcard-links); unlink one, or link a narrower or exact node")`;

describe('wildcard links per WARP socket are bounded (review R8)', () => {
  it('#R8 the bound is --warp-max-wildcard-links, default 16 (0 = no wildcard links)', () => {
    expect(parseServeConfig([], {}).fronts.warp.limits.maxWildcardLinks).toBeUndefined(); // the default applies
    expect(parseServeConfig(['--warp-max-wildcard-links', '4'], {}).fronts.warp.limits.maxWildcardLinks).toBe(4);
    expect(parseServeConfig([], { TWINFLOW_WARP_MAX_WILDCARD_LINKS: '0' }).fronts.warp.limits.maxWildcardLinks).toBe(0);
    expect(() => parseServeConfig(['--warp-max-wildcard-links=-1'], {})).toThrow('--warp-max-wildcard-links');
  });

  it('#R8 a wildcard @sync past --warp-max-wildcard-links is answered @unlinked @tooManyLinks and counted; exact links, other sockets and freed slots still link (2 workers)', async () => {
    const n = await storedFleet({ warp: { limits: { maxWildcardLinks: 2 } } });
    const baseline = n.runtime.stats().observers;
    const c = await rawClient(n.ws);
    const filters = ['/org/contoso/site/berlin/building/0/**', '/org/contoso/site/berlin/building/1/**', '/org/**'];
    for (const f of filters) c.send(`@sync(node:"${f}",lane:latest)`);
    await c.until(
      (m) => m.filter((x) => x.startsWith('@synced')).length === 2 && m.some((x) => x.startsWith('@unlinked')),
      10_000,
    );
    expect(c.messages.filter((x) => x.startsWith('@unlinked'))).toEqual([
      `@unlinked(node:"/org/**",lane:latest)${tooMany(2)}`,
    ]);
    expect(c.messages.filter((x) => x.startsWith('@event'))).toHaveLength(SENSORS.length); // both admitted links synced
    expect(n.rejections.count('warp.too_many_wildcard_links')).toBe(1);
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    expect(metrics).toContain('twinflow_rejected_total{kind="warp.too_many_wildcard_links"} 1');

    // Exact links are not wildcard links; another socket has its own slots.
    c.send(`@sync(node:"${ROOM(3)}/sensors/climate",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith(`@synced(node:"${ROOM(3)}/sensors/climate"`)));
    const other = await rawClient(n.ws);
    other.send('@sync(node:"/org/**",lane:latest)');
    await other.until((m) => m.some((x) => x.startsWith('@synced(node:"/org/**"')), 10_000);

    // Unlinking a synced wildcard link frees its slot.
    c.send('@unlink(node:"/org/contoso/site/berlin/building/0/**",lane:latest)');
    c.send('@sync(node:"/org/**",lane:latest)');
    await c.until((m) => m.some((x) => x.startsWith('@synced(node:"/org/**"')), 10_000);
    expect(n.rejections.count('warp.too_many_wildcard_links')).toBe(1);

    c.ws.close();
    other.ws.close();
    await observersBackTo(n, baseline);
  });

  it('#R8 1000 @sync+@unlink pairs of /org/** in one frame start at most 16 wildcard syncs: an unlinked link holds its slot until its sync is done (2 workers)', async () => {
    const n = await storedFleet();
    const baseline = n.runtime.stats().observers;
    const c = await rawClient(n.ws, 'warp.recon'); // one frame, many envelopes
    const pair = '@sync(node:"/org/**",lane:latest)\n@unlink(node:"/org/**",lane:latest)';
    c.send(Array.from({ length: 1000 }, () => pair).join('\n'));
    // Each @unlink is answered (a refused link's too); 984 @sync are refused.
    await c.until((m) => m.filter((x) => x === '@unlinked(node:"/org/**",lane:latest)').length === 1000, 20_000);
    await c.until((m) => m.filter((x) => x.includes('@tooManyLinks')).length === 984, 5_000);
    expect(c.messages.filter((x) => x.includes('@tooManyLinks'))[0]).toBe(
      `@unlinked(node:"/org/**",lane:latest)${tooMany(16)}`,
    );
    expect(n.rejections.count('warp.too_many_wildcard_links')).toBe(984);

    // While they ran, the socket never held more than 16; once they are done the slots are free again.
    const session = n.warp.sessions()[0]!;
    expect(session.wildcardLinks).toBeLessThanOrEqual(16);
    const deadline = Date.now() + 10_000;
    while (session.wildcardLinks > 0) {
      if (Date.now() > deadline) throw new Error(`wildcard slots still held: ${session.wildcardLinks}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = c.messages.length;
    const filters = Array.from(
      { length: 16 },
      (_, i) => `/org/contoso/site/berlin/building/*/floor/1/unit/a/room/${i}/**`,
    );
    c.send(filters.map((f) => `@sync(node:"${f}",lane:latest)`).join('\n'));
    await c.until((m) => m.slice(before).filter((x) => x.startsWith('@synced')).length === 16, 10_000);
    expect(session.wildcardLinks).toBe(16);
    c.ws.close();
    await observersBackTo(n, baseline);
  });
});
