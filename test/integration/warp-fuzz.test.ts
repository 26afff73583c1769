import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNIT, rawClient, warpNode, type RawClient } from '../support/warp.js';

const FRAMES = 100_000;
const BATCH = 2_000;

const TAGS = [
  'link',
  'sync',
  'unlink',
  'command',
  'auth',
  'deauth',
  'event',
  'linked',
  'synced',
  'unlinked',
  'bogus',
  '',
];
const VALID = [
  `@sync(node:"${UNIT}",lane:secured)`,
  `@link(node:"${UNIT}",lane:alarm)`,
  `@command(node:"/nowhere",lane:x)1`,
  '@auth{token:t}',
  `@unlink(node:"${UNIT}",lane:nothing)`,
  '@deauth',
  '@sync(node:"/org/*/site/**",lane:nolane)',
];

/** Recon-ish text: valid envelopes with random edits, random tags and headers, plain noise. */
const reconish = fc.oneof(
  fc
    .tuple(fc.constantFrom(...VALID), fc.nat(60), fc.string({ maxLength: 8 }), fc.nat(8))
    .map(([v, at, ins, del]) => v.slice(0, at) + ins + v.slice(at + del)),
  fc
    .tuple(
      fc.constantFrom(...TAGS),
      fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 20 }),
    )
    .map(([t, n, l, b]) => `@${t}(node:${JSON.stringify(n)},lane:${l})${b}`),
  fc.string({ maxLength: 80, unit: 'binary' }),
  fc.string({
    maxLength: 40,
    unit: fc.constantFrom(
      '@',
      '(',
      ')',
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '"',
      '%',
      '#',
      '\n',
      'a',
      '1',
      ' ',
      '\\',
      '$',
      '`',
    ),
  }),
  fc.nat(600).map((n) => '{'.repeat(n) + '@a('.repeat(n)),
);

/** JSON-ish text: random JSON values, envelope-shaped objects with wrong types, noise. */
const jsonish = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .record(
      {
        tag: fc.oneof(fc.constantFrom(...TAGS), fc.anything()),
        node: fc.oneof(fc.string(), fc.anything()),
        lane: fc.oneof(fc.string(), fc.integer()),
        body: fc.jsonValue({ maxDepth: 3 }),
        prio: fc.oneof(fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o) ?? 'null'),
  fc.array(fc.json({ maxDepth: 2 }), { maxLength: 5 }).map((xs) => `[${xs.join(',')}]`),
  reconish,
  fc.nat(3000).map((n) => '['.repeat(n)),
);

async function blast(
  client: RawClient,
  frames: string[],
  node: { warp: { stats(): { framesIn: number } } },
): Promise<void> {
  for (let i = 0; i < frames.length; i += BATCH) {
    const start = node.warp.stats().framesIn;
    const batch = frames.slice(i, i + BATCH);
    for (const f of batch) client.send(f);
    // Wait for the server to read the batch, so neither side buffers all 100 k at once.
    const deadline = Date.now() + 20_000;
    while (node.warp.stats().framesIn < start + batch.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
  }
}

describe('WARP fuzz', () => {
  it(`survives ${FRAMES.toLocaleString('en')} malformed and random frames and keeps serving well-formed links`, async () => {
    const node = await warpNode();
    const protocols = [undefined, 'warp.recon', 'warp.json', 'warp.json'] as const;
    const clients = await Promise.all(protocols.map((p) => rawClient(node.ws, p)));
    // A well-formed link on every socket before the storm.
    for (const [i, c] of clients.entries()) {
      c.send(
        protocols[i] === 'warp.json'
          ? JSON.stringify({ tag: 'sync', node: UNIT, lane: 'securityAlert' })
          : `@sync(node:"${UNIT}",lane:securityAlert)`,
      );
      await c.until((m) => m.some((x) => x.includes('synced')));
    }
    const per = FRAMES / clients.length;
    let sent = 0;
    await Promise.all(
      clients.map(async (c, i) => {
        const arb = protocols[i] === 'warp.json' ? jsonish : reconish;
        const frames = fc.sample(arb, { numRuns: per, seed: 42 + i });
        // Also binary frames with random bytes on the first socket.
        if (i === 0)
          for (const bytes of fc.sample(fc.uint8Array({ maxLength: 64 }), { numRuns: 500, seed: 7 }))
            c.ws.send(bytes, { binary: true });
        await blast(c, frames, node);
        sent += frames.length;
      }),
    );
    expect(sent).toBe(FRAMES);
    await expect
      .poll(() => node.warp.stats().framesIn, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(FRAMES + 500 + clients.length);
    const stats = node.warp.stats();
    expect(stats.malformed).toBeGreaterThan(FRAMES / 2);

    // Every socket is still open and its link still served; so is a new socket.
    for (const c of clients) expect(c.ws.readyState).toBe(c.ws.OPEN);
    const before = clients.map((c) => c.messages.length);
    await node.runtime.command(UNIT, 'secure', true);
    await node.runtime.ingest({ subject: `${UNIT}/room/4/sensors/occupancy`, data: { occupied: true } });
    for (const [i, c] of clients.entries()) {
      await c.until(
        (m) => m.slice(before[i]).some((x) => x.includes('securityAlert') && x.includes('event') && x.includes('true')),
        20_000,
      );
    }
    const fresh = await rawClient(node.ws);
    fresh.send(`@sync(node:"${UNIT}",lane:securityAlert)`);
    await fresh.until((m) => m.includes(`@event(node:"${UNIT}",lane:securityAlert)true`));
  }, 120_000);
});
