/**
 * `GET /signals` under access rules for as long as the stream is open, not only when it
 * starts. Finding (bug bash round 5): the stream was checked once, at its request, so a
 * token the access file then revoked, and a JWT past its `exp`, went on receiving every
 * derived event its grants had allowed (a WARP socket or MQTT connection was closed at once).
 * Real node with the default 2 worker threads on port 0, the file watcher reloading the file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildingModelSource } from '../../models/index.js';
import { newToken } from '../../src/access/secrets.js';
import { waitFor } from '../support/mqtt.js';
import { takeSseEvents } from '../support/sse.js';
import { tempDir } from '../support/tmp.js';
import { sleep, warpNode } from '../support/warp.js';

const fire = (site: string): string => `/org/a/site/${site}/building/b1/floor/1/unit/u1/room/1/sensors/fire`;
const JWT_SECRET = 'k'.repeat(48);
const app = newToken();
const operator = newToken();

/** `appPaths`: what tenant app A may read (none: its token is revoked). */
function rules(appPaths: string[] | null): unknown {
  return {
    roles: { tenantA: [{ paths: appPaths ?? [], rights: ['read'] }] },
    principals: {
      'app-a': { roles: ['tenantA'], tokens: appPaths ? [app.stored] : [] },
      operator: { tokens: [operator.stored], grants: [{ paths: ['/**'], rights: ['*'] }] },
    },
    jwt: { secretEnv: 'TWINFLOW_TEST_SIGNALS_JWT', audience: 'twinflow', clockToleranceSeconds: 0 },
  };
}

let file: string;
beforeEach(() => {
  process.env.TWINFLOW_TEST_SIGNALS_JWT = JWT_SECRET;
  file = join(tempDir(), 'access.json');
  writeFileSync(file, JSON.stringify(rules(['/org/a/**'])));
});

/** A reader of `/signals` with `token`: the evacuation sites it was sent, and whether its stream ended. */
async function reader(url: string, token: string) {
  const res = await fetch(`${url}/signals`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const state = { sites: [] as string[], ended: false };
  void (async () => {
    let rest = '';
    try {
      for await (const chunk of res.body!) {
        const taken = takeSseEvents<{ type: string; subject: string }>(rest + Buffer.from(chunk).toString());
        rest = taken.rest;
        for (const e of taken.events) if (e.type === 'evacuation') state.sites.push(e.subject);
      }
    } catch {
      // The node destroyed the socket: the same end for this reader.
    }
    state.ended = true;
  })();
  return state;
}

async function node() {
  const n = await warpNode({ access: file, workers: 2, modelSource: buildingModelSource() });
  /** Sets off an evacuation of `site` (the operator's reading) and waits for it to be committed everywhere. */
  const alarm = async (site: string, id: string): Promise<void> => {
    const r = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: fire(site), id, source: 'test', data: { alarm: true } }),
    });
    expect(r.status).toBe(202);
    await n.runtime.settle();
  };
  return { n, alarm };
}

describe('/signals under access rules that change while it is open', () => {
  it('a token revoked by a reload ends its stream; it gets no event after', async () => {
    const { n, alarm } = await node();
    const r = await reader(n.url, app.token);
    await alarm('s1', 'f1');
    await waitFor(() => r.sites.length === 1, 5000, 'the first evacuation');
    writeFileSync(file, JSON.stringify(rules(null)));
    await waitFor(() => r.ended, 5000, 'the revoked reader to be closed');
    await alarm('s2', 'f2');
    await sleep(300);
    expect(r.sites).toEqual(['/org/a/site/s1']);
    expect(n.rejections.count('http.signals_reader_revoked')).toBe(1);
  });

  it('grants narrowed by a reload apply to the open stream at once', async () => {
    const { n, alarm } = await node();
    const r = await reader(n.url, app.token);
    writeFileSync(file, JSON.stringify(rules(['/org/a/site/s2/**'])));
    // Poll the rules in force: an ordinary request sees the reload when the stream must have.
    await waitFor(
      async () =>
        (await fetch(`${n.url}/twins/org/a/site/s1`, { headers: { authorization: `Bearer ${app.token}` } })).status ===
        403,
      5000,
      'the narrowed rules to be in force',
    );
    await alarm('s1', 'f1');
    await alarm('s2', 'f2');
    await waitFor(() => r.sites.length > 0, 5000, 'the evacuation it may still read');
    await sleep(300);
    expect(r.sites).toEqual(['/org/a/site/s2']);
    expect(r.ended).toBe(false);
  });

  it('a JWT that expires ends its stream then', async () => {
    const { n, alarm } = await node();
    const jwt = await new SignJWT({ roles: ['tenantA'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dash')
      .setAudience('twinflow')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const r = await reader(n.url, jwt);
    await waitFor(() => r.ended, 5000, 'the stream of the expired JWT to be closed');
    await alarm('s1', 'f1');
    await sleep(300);
    expect(r.sites).toEqual([]);
    expect(n.rejections.count('http.signals_reader_revoked')).toBe(1);
  });
});
