import { describe, expect, it } from 'vitest';
import { ROOM, UNIT, rawClient, sleep, warpNode } from '../support/warp.js';

const FLOOR3 = '/org/contoso/site/berlin/building/41/floor/3';
const sensor = (room: number, kind: string) => `${FLOOR3}/unit/j/room/${room}/sensors/${kind}`;

describe('WARP over WebSocket (Recon at /)', () => {
  it('answers @sync with @linked, the state, then @synced, and streams later changes', async () => {
    const node = await warpNode();
    await node.runtime.command(UNIT, 'secure', true);
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages).toEqual([
      `@linked(node:"${UNIT}",lane:secured)`,
      `@event(node:"${UNIT}",lane:secured)true`,
      `@synced(node:"${UNIT}",lane:secured)`,
    ]);
    await node.runtime.command(UNIT, 'secure', false);
    await c.until((m) => m.length === 4);
    expect(c.messages[3]).toBe(`@event(node:"${UNIT}",lane:secured)false`);
  });

  it('sends map lane state and changes as @update/@remove bodies, one event per key', async () => {
    const node = await warpNode();
    await node.runtime.ingest({ subject: sensor(4, 'occupancy'), data: { occupied: true } });
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:roomOccupied)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages[1]).toBe(`@event(node:"${UNIT}",lane:roomOccupied)@update(key:"${ROOM}")true`);
  });

  it('@link skips the initial state but delivers changes', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    c.send(`@link(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.length === 1);
    await node.runtime.command(UNIT, 'secure', true);
    await c.until((m) => m.length === 2);
    expect(c.messages).toEqual([`@linked(node:"${UNIT}",lane:secured)`, `@event(node:"${UNIT}",lane:secured)true`]);
  });

  it('multiplexes links on one socket and sends nothing for a link after its @unlinked', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    c.send(`@sync(node:"${UNIT}",lane:securityAlert)`);
    await c.until((m) => m.filter((x) => x.startsWith('@synced')).length === 2);
    c.send(`@unlink(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked')));
    const before = c.messages.length;
    await node.runtime.command(UNIT, 'secure', true);
    await node.runtime.ingest({ subject: sensor(4, 'occupancy'), data: { occupied: true } });
    await c.until((m) => m.some((x) => x === `@event(node:"${UNIT}",lane:securityAlert)true`));
    await sleep(50);
    const after = c.messages.slice(before);
    expect(after.filter((x) => x.includes('lane:secured)'))).toEqual([]);
    expect(c.messages.indexOf(`@unlinked(node:"${UNIT}",lane:secured)`)).toBeGreaterThan(0);
  });

  it('answers unknown nodes and lanes with @unlinked @nodeNotFound / @laneNotFound (no @linked)', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    c.send('@sync(node:"/nowhere/at/all",lane:x)');
    c.send(`@sync(node:"${UNIT}",lane:nope)`);
    c.send('@sync(node:"/a//b",lane:x)');
    await c.until((m) => m.length === 3);
    expect(c.messages.some((m) => m.startsWith('@linked'))).toBe(false);
    expect(c.messages).toContain(
      '@unlinked(node:"/nowhere/at/all",lane:x)@nodeNotFound(code:TWIN_NO_ROUTE,message:"no model is routed to /nowhere/at/all")',
    );
    expect(c.messages.find((m) => m.includes('lane:nope'))).toMatch(/@laneNotFound\(code:TWIN_LANE_NOT_FOUND,/);
    expect(c.messages.find((m) => m.includes('"/a//b"'))).toMatch(/@nodeNotFound\(code:TWIN_PATH_INVALID,/);
  });

  it('refuses an invalid filter, and a lane no model under the filter has, with @unlinked alone (no @linked)', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    const ends = (node: string) => (m: string[]) =>
      m.some((x) => x.includes(`(node:"${node}",`) && (x.startsWith('@unlinked') || x.startsWith('@synced')));
    c.send('@sync(node:"/org/o*",lane:x)');
    await c.until(ends('/org/o*'));
    expect(c.messages).toEqual([
      '@unlinked(node:"/org/o*",lane:x)@nodeNotFound(code:TWIN_FILTER_INVALID,message:"invalid path filter \\"/org/o*\\": \\"*\\" must stand alone in a segment, found \\"o*\\"")',
    ]);
    // Only rooms are routed under …/room/*, and rooms have no lane hvac (floors do); `**` spans every model.
    c.messages.length = 0;
    c.send(`@sync(node:"${UNIT}/room/*",lane:hvac)`);
    c.send('@sync(node:"/org/**",lane:nope)');
    await c.until((m) => ends(`${UNIT}/room/*`)(m) && ends('/org/**')(m));
    expect(c.messages).toEqual([
      `@unlinked(node:"${UNIT}/room/*",lane:hvac)@laneNotFound(code:TWIN_LANE_NOT_FOUND,message:"no model routed under ${UNIT}/room/* has a lane \\"hvac\\"")`,
      '@unlinked(node:"/org/**",lane:nope)@laneNotFound(code:TWIN_LANE_NOT_FOUND,message:"no model routed under /org/** has a lane \\"nope\\"")',
    ]);
    expect(node.warp.stats().links).toBe(0);
    // A lane some model under the filter has is linked (floors have hvac, rooms do not); so is
    // a filter no model is routed under (no twin can ever match it: it stays empty).
    c.messages.length = 0;
    c.send(`@sync(node:"${FLOOR3}/**",lane:hvac)`);
    c.send('@sync(node:"/nowhere/*",lane:x)');
    await c.until((m) => ends(`${FLOOR3}/**`)(m) && ends('/nowhere/*')(m));
    expect(c.messages.filter((m) => m.startsWith('@linked'))).toEqual([
      `@linked(node:"${FLOOR3}/**",lane:hvac)`,
      '@linked(node:"/nowhere/*",lane:x)',
    ]);
    expect(c.messages.some((m) => m.startsWith('@unlinked'))).toBe(false);
  });

  it('links a wildcard filter to every matching twin, each event naming its concrete node', async () => {
    const node = await warpNode();
    await node.runtime.ingest({ subject: sensor(1, 'climate'), data: { temperature: 20, humidity: 40 } });
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${FLOOR3}/unit/j/room/*",lane:temperature)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages[0]).toBe(`@linked(node:"${FLOOR3}/unit/j/room/*",lane:temperature)`);
    expect(c.messages, c.messages.join('\n')).toContain(`@event(node:"${FLOOR3}/unit/j/room/1",lane:temperature)20`);
    // A twin that starts later and matches joins the link.
    await node.runtime.ingest({ subject: sensor(2, 'climate'), data: { temperature: 24, humidity: 40 } });
    await c.until((m) => m.includes(`@event(node:"${FLOOR3}/unit/j/room/2",lane:temperature)24`));
    expect(c.messages.some((m) => m.includes('/unit/j"'))).toBe(false);
  });

  it('round-trips a command: @command changes a lane another link observes', async () => {
    const node = await warpNode();
    const watcher = await rawClient(node.ws);
    watcher.send(`@sync(node:"${UNIT}",lane:secured)`);
    await watcher.until((m) => m.some((x) => x.startsWith('@synced')));
    const commander = await rawClient(node.ws);
    commander.send(`@command(node:"${UNIT}",lane:secure)true`);
    await watcher.until((m) => m.includes(`@event(node:"${UNIT}",lane:secured)true`));
    expect(await node.runtime.get(UNIT, 'secured')).toBe(true);
    commander.send('@command(node:"/nowhere",lane:secure)true');
    await commander.until((m) => m.some((x) => x.startsWith('@unlinked(node:"/nowhere"')));
    expect(commander.messages[0]).toMatch(/@nodeNotFound/);
  });

  it('answers malformed frames with an error envelope and keeps serving the socket', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws);
    c.send('{{{ not recon');
    c.send('@bogus(node:"/a",lane:b)');
    c.send('@event(node:"/a",lane:b)1');
    c.ws.send(Buffer.from([0xff, 0xfe]), { binary: true });
    await c.until((m) => m.length === 4);
    for (const m of c.messages)
      expect(m).toMatch(/^@unlinked\(node:"",lane:""\)@malformed\(code:TWIN_FRAME_MALFORMED,message:/);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(node.warp.stats().malformed).toBe(4);
  });

  it('enforces the frame size limit (close 1009) and the links-per-socket limit (@tooManyLinks)', async () => {
    const node = await warpNode({ warp: { limits: { maxFrameBytes: 1024, maxLinks: 2 } } });
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    c.send(`@sync(node:"${UNIT}",lane:alarm)`);
    c.send(`@sync(node:"${UNIT}",lane:temperature)`);
    await c.until((m) => m.some((x) => x.includes('@tooManyLinks')));
    expect(c.messages.find((x) => x.includes('@tooManyLinks'))).toBe(
      `@unlinked(node:"${UNIT}",lane:temperature)@tooManyLinks(code:TWIN_LINK_LIMIT,message:"at most 2 links per socket")`,
    );
    c.send(`@command(node:"${UNIT}",lane:secure)"${'x'.repeat(2000)}"`);
    expect(await c.closed).toEqual({ code: 1009, reason: '' });
    // The server is fine: a new socket is served.
    const d = await rawClient(node.ws);
    d.send(`@sync(node:"${UNIT}",lane:secured)`);
    await d.until((m) => m.some((x) => x.startsWith('@synced')));
  });

  it('passes @auth credentials to the authorizer, which decides per link and command', async () => {
    const seen: unknown[] = [];
    const node = await warpNode({
      warp: {
        authorize: async (req) => {
          seen.push({ action: req.action, lane: req.lane, credentials: req.credentials });
          return (req.credentials as { token?: string } | undefined)?.token === 'good';
        },
      },
    });
    const c = await rawClient(node.ws);
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.length === 1);
    expect(c.messages[0]).toMatch(
      new RegExp(`^@unlinked\\(node:"${UNIT}",lane:secured\\)@forbidden\\(code:TWIN_FORBIDDEN,`),
    );
    c.send('@auth{token:good}');
    c.send(`@sync(node:"${UNIT}",lane:secured)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages[1]).toBe('@authed');
    c.send('@deauth');
    c.send(`@command(node:"${UNIT}",lane:secure)true`);
    await c.until(
      (m) => m.includes('@deauthed') && m.some((x) => x.startsWith(`@unlinked(node:"${UNIT}",lane:secure)@forbidden`)),
    );
    expect(await node.runtime.get(UNIT, 'secured')).toBe(false);
    expect(seen).toEqual([
      { action: 'link', lane: 'secured', credentials: undefined },
      { action: 'link', lane: 'secured', credentials: { token: 'good' } },
      { action: 'command', lane: 'secure', credentials: undefined },
    ]);
  });
});

describe('WARP JSON encoding (subprotocol warp.json)', () => {
  it('speaks the same envelopes as JSON, batched as arrays, with arrays kept as arrays', async () => {
    const node = await warpNode();
    await node.runtime.ingest({ subject: sensor(4, 'fire'), data: { alarm: true } });
    const c = await rawClient(node.ws, 'warp.json');
    expect(c.ws.protocol).toBe('warp.json');
    c.send(
      JSON.stringify([
        { tag: 'sync', node: UNIT, lane: 'alarmSources' },
        { tag: 'sync', node: '/nowhere', lane: 'x' },
      ]),
    );
    await c.until((m) => m.some((x) => x.includes('"synced"')) && m.some((x) => x.includes('"unlinked"')));
    const parsed = c.messages.map((m) => JSON.parse(m));
    expect(parsed.slice(0, 3)).toEqual([
      { tag: 'linked', node: UNIT, lane: 'alarmSources' },
      { tag: 'event', node: UNIT, lane: 'alarmSources', body: [`${ROOM}/sensors/fire`] },
      { tag: 'synced', node: UNIT, lane: 'alarmSources' },
    ]);
    expect(parsed[3]).toEqual({
      tag: 'unlinked',
      node: '/nowhere',
      lane: 'x',
      body: { '@nodeNotFound': { code: 'TWIN_NO_ROUTE', message: 'no model is routed to /nowhere' } },
    });
    expect(c.frames.some((f) => f.startsWith('['))).toBe(true);
    c.send(JSON.stringify({ tag: 'command', node: UNIT, lane: 'secure', body: true }));
    c.send('{"tag":"sync"');
    await c.until((m) => m.some((x) => x.includes('"malformed"') || x.includes('@malformed')));
    await expect.poll(() => node.runtime.get(UNIT, 'secured')).toBe(true);
  });

  it('batches newline-separated Recon under warp.recon', async () => {
    const node = await warpNode();
    const c = await rawClient(node.ws, 'warp.recon');
    c.send(`@sync(node:"${UNIT}",lane:secured)\n@sync(node:"${UNIT}",lane:alarm)`);
    await c.until((m) => m.filter((x) => x.startsWith('@synced')).length === 2);
    expect(c.frames.length).toBeLessThan(c.messages.length);
  });
});
