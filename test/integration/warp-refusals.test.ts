/**
 * What a WARP client's refused links and commands leave behind (hostile-client bug bash):
 * the sender gets a clear `@unlinked`, and the node counts it (`twinflow_rejected_total`
 * by kind, with a rate-limited log line), as HTTP and MQTT do for the same input. A command
 * nested past `--max-payload-depth` used to be dropped silently (a debug line, no answer,
 * nothing counted), and refused links were answered but never counted.
 */
import { describe, expect, it } from 'vitest';
import { UNIT, rawClient, warpNode } from '../support/warp.js';

async function rejected(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^twinflow_rejected_total\{kind="([^"]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('WARP refusals', () => {
  it('answers a command nested past the depth bound with @unlinked … TWIN_PAYLOAD_TOO_DEEP, in Recon and JSON, and counts it', async () => {
    const node = await warpNode();
    const recon = await rawClient(node.ws);
    recon.send(`@command(node:"${UNIT}",lane:secure)${'{'.repeat(70)}${'}'.repeat(70)}`);
    await recon.until((m) => m.length === 1);
    expect(recon.messages[0]).toMatch(
      new RegExp(`^@unlinked\\(node:"${UNIT}",lane:secure\\)@malformed\\(code:TWIN_PAYLOAD_TOO_DEEP,`),
    );
    const json = await rawClient(node.ws, 'warp.json');
    const deep = JSON.parse('['.repeat(70) + ']'.repeat(70));
    json.send(JSON.stringify({ tag: 'command', node: UNIT, lane: 'secure', body: deep }));
    await json.until((m) => m.length === 1);
    expect(JSON.parse(json.messages[0]!)).toMatchObject({
      tag: 'unlinked',
      node: UNIT,
      lane: 'secure',
      body: { '@malformed': { code: 'TWIN_PAYLOAD_TOO_DEEP' } },
    });
    expect((await rejected(node.url))['warp.TWIN_PAYLOAD_TOO_DEEP']).toBe(2);
    // The socket still serves, and the twin never saw the refused value.
    recon.send(`@command(node:"${UNIT}",lane:secure)true`);
    recon.send(`@sync(node:"${UNIT}",lane:secured)`);
    await recon.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(recon.messages).toContain(`@event(node:"${UNIT}",lane:secured)true`);
  });

  it('counts refused links and commands by code (unknown node or lane, bad path, a computed lane)', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    c.send('@sync(node:"/nowhere",lane:x)');
    c.send(`@sync(node:"${UNIT}",lane:nope)`);
    c.send('@link(node:"/org/../x",lane:alarm)');
    c.send(`@command(node:"${UNIT}",lane:secured)true`);
    await c.until((m) => m.length === 4);
    expect(c.messages.every((m) => m.startsWith('@unlinked('))).toBe(true);
    const counts = await rejected(node.url);
    expect(counts).toMatchObject({
      'warp.TWIN_NO_ROUTE': 1,
      'warp.TWIN_LANE_NOT_FOUND': 1,
      'warp.TWIN_PATH_INVALID': 1,
      'warp.TWIN_LANE_KIND': 1,
    });
  });

  it('answers a JSON frame nested far past any body bound as "nested too deep" (no internal text), counted, and keeps serving', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws, 'warp.json');
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    c.send(deep(100_000));
    c.send(`{"tag":"command","node":"${UNIT}","lane":"secure","body":${deep(100_000)}}`);
    c.send(`[{"tag":"sync","node":"${UNIT}","lane":"secured","prio":${deep(5_000)}}]`);
    await c.until((m) => m.length === 3);
    for (const m of c.messages)
      expect(JSON.parse(m)).toEqual({
        tag: 'unlinked',
        node: '',
        lane: '',
        body: { '@malformed': { code: 'TWIN_FRAME_MALFORMED', message: 'unreadable envelope: nested too deep' } },
      });
    expect(node.warp.stats().malformed).toBe(3);
    // Brackets inside strings are no nesting; a body within the bound is read as before.
    c.messages.length = 0;
    c.send(JSON.stringify({ tag: 'auth', body: { token: '['.repeat(100_000) } }));
    c.send(`{"tag":"command","node":"${UNIT}","lane":"secure","body":${deep(70)}}`);
    c.send(JSON.stringify({ tag: 'sync', node: UNIT, lane: 'secured' }));
    await c.until((m) => m.some((x) => x.includes('"synced"')));
    expect(c.messages.map((m) => JSON.parse(m).tag)).toEqual(['authed', 'unlinked', 'linked', 'event', 'synced']);
    expect(JSON.parse(c.messages[1]!).body['@malformed'].code).toBe('TWIN_PAYLOAD_TOO_DEEP');
    expect(node.warp.stats().malformed).toBe(3);
  });
});
