/**
 * Issue 15: who may do what, over real sockets on a node with the default 2 worker threads.
 * One access file: tenant app A (read + command on /org/a/**), one device bound to its own
 * sensor, an operator with every right; no anonymous grants.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildingModelSource } from '../../models/index.js';
import { newToken, hashPassword } from '../../src/access/secrets.js';
import { closeClients, mqttClient, waitFor } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';
import { rawClient, warpNode } from '../support/warp.js';

const room = (org: string, n = 4): string => `/org/${org}/site/s1/building/b1/floor/1/unit/u1/room/${n}`;
const UNIT_A = '/org/a/site/s1/building/b1/floor/1/unit/u1';
const UNIT_B = '/org/b/site/s1/building/b1/floor/1/unit/u1';
const SENSOR_A = `${room('a')}/sensors/climate`;
const SENSOR_B = `${room('b')}/sensors/climate`;
const JWT_SECRET = 'j'.repeat(48);

interface Snapshot {
  lanes: { latest: { temperature: number } | null };
}
const snapshot = async (r: Response): Promise<Snapshot> => (await r.json()) as Snapshot;
const errorCode = async (r: Response): Promise<string> => ((await r.json()) as { code: string }).code;

const app = newToken();
const operator = newToken();
const scraper = newToken();

function rules(withApp = true): unknown {
  return {
    roles: { tenantA: [{ paths: ['/org/a/**'], rights: ['read', 'command'] }] },
    principals: {
      'app-a': { roles: ['tenantA'], tokens: withApp ? [app.stored] : [] },
      operator: { tokens: [operator.stored], grants: [{ paths: ['/**'], rights: ['*'] }] },
      prometheus: { tokens: [scraper.stored] },
      // A device publishes its own reading and reads its own command topics, nothing else.
      'room4-climate': {
        password: hashPassword('pw'),
        grants: [
          { paths: [SENSOR_A], rights: ['ingest', 'read'] },
          { paths: [`${SENSOR_A}/commands/*`], rights: ['read'] },
        ],
      },
    },
    jwt: { secretEnv: 'TWINFLOW_TEST_JWT_SECRET', audience: 'twinflow' },
    // A scraper reads /metrics without the admin right (which would also open dead letters and warm).
    metrics: ['prometheus'],
  };
}

let file: string;
beforeEach(() => {
  process.env.TWINFLOW_TEST_JWT_SECRET = JWT_SECRET;
  file = join(tempDir(), 'access.json');
  writeFileSync(file, JSON.stringify(rules()));
});
afterEach(async () => {
  await closeClients();
});

async function node() {
  const n = await warpNode({ access: file, workers: 2, modelSource: buildingModelSource(), mqtt: { port: 0 } });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
  const reading = (subject: string, temperature: number, id: string) =>
    JSON.stringify({ subject, id, source: 'test', data: { temperature, humidity: 40, co2: 500 } });
  // The operator writes readings in both tenants.
  for (const [s, i] of [
    [SENSOR_A, 'a1'],
    [SENSOR_B, 'b1'],
  ] as const) {
    const r = await fetch(`${n.url}/events`, {
      method: 'POST',
      headers: bearer(operator.token),
      body: reading(s, 21, i),
    });
    expect(r.status).toBe(202);
  }
  return { n, bearer, reading, mqttUrl: n.ingestion.mqtt!.url };
}

describe('access rules over HTTP (2 workers)', () => {
  it('401 without or with a bad credential, 403 outside the grants, 2xx inside', async () => {
    const { n, bearer, reading } = await node();
    // Finding: an anonymous command was accepted (202).
    const anon = await fetch(`${n.url}/twins${UNIT_A}/commands/secure`, {
      method: 'POST',
      body: 'true',
      headers: { 'content-type': 'application/json' },
    });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorCode(anon)).toBe('TWIN_UNAUTHENTICATED');
    expect((await fetch(`${n.url}/twins${SENSOR_A}`, { headers: bearer('tf_wrong') })).status).toBe(401);
    // Probes stay open.
    expect((await fetch(`${n.url}/healthz`)).status).toBe(200);

    const h = bearer(app.token);
    expect((await fetch(`${n.url}/twins${SENSOR_A}`, { headers: h })).status).toBe(200);
    const b = await fetch(`${n.url}/twins${SENSOR_B}`, { headers: h });
    expect(b.status).toBe(403);
    expect(await errorCode(b)).toBe('TWIN_FORBIDDEN');
    // The same answer for a twin that does not exist: a refusal says nothing of what is there.
    const ghost = await fetch(`${n.url}/twins/org/b/site/nowhere`, { headers: h });
    expect(ghost.status).toBe(403);
    expect(
      (await fetch(`${n.url}/twins${UNIT_A}/commands/secure`, { method: 'POST', headers: h, body: 'true' })).status,
    ).toBe(202);
    expect(
      (await fetch(`${n.url}/twins${UNIT_B}/commands/secure`, { method: 'POST', headers: h, body: 'true' })).status,
    ).toBe(403);
    // read + command, no ingest: its events are refused, and nothing reaches the twin.
    const ev = await fetch(`${n.url}/events`, { method: 'POST', headers: h, body: reading(SENSOR_A, 99, 'x1') });
    expect(ev.status).toBe(403);
    const batch = await fetch(`${n.url}/events`, { method: 'POST', headers: bearer(operator.token), body: '[]' });
    expect(batch.status).toBe(202);
    // Node-wide admin resources need admin on /**.
    expect((await fetch(`${n.url}/metrics`, { headers: h })).status).toBe(403);
    expect((await fetch(`${n.url}/metrics`, { headers: bearer(operator.token) })).status).toBe(200);
    expect((await fetch(`${n.url}/dead-letters`, { headers: h })).status).toBe(403);
    expect((await fetch(`${n.url}/metrics`, { headers: bearer(scraper.token) })).status).toBe(200);
    expect((await fetch(`${n.url}/dead-letters`, { headers: bearer(scraper.token) })).status).toBe(403);
    expect((await fetch(`${n.url}/metrics`)).status).toBe(401);
    // A subtree query over both tenants yields only tenant A's twins.
    const q = await fetch(`${n.url}/twins?filter=/org/*/site/**&limit=1000`, { headers: h });
    expect(q.status).toBe(200);
    const paths = ((await q.json()) as { items: { path: string }[] }).items.map((i) => i.path);
    expect(paths).toContain(SENSOR_A);
    expect(paths.every((p) => p.startsWith('/org/a/'))).toBe(true);
    const latest = await snapshot(await fetch(`${n.url}/twins${SENSOR_A}`, { headers: h }));
    expect(latest.lanes.latest?.temperature).toBe(21);
  });

  it('verifies JWTs: a valid one reads by its roles, an expired one is 401', async () => {
    const { n } = await node();
    const key = new TextEncoder().encode(JWT_SECRET);
    const sign = (exp: number | string) =>
      new SignJWT({ roles: ['tenantA'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('dash')
        .setAudience('twinflow')
        .setExpirationTime(exp)
        .sign(key);
    const ok = await fetch(`${n.url}/twins${SENSOR_A}`, { headers: { authorization: `Bearer ${await sign('5m')}` } });
    expect(ok.status).toBe(200);
    const expired = await fetch(`${n.url}/twins${SENSOR_A}`, {
      headers: { authorization: `Bearer ${await sign(Math.floor(Date.now() / 1000) - 300)}` },
    });
    expect(expired.status).toBe(401);
  });

  it('refuses with a reason (401): a JWT without exp, a credential longer than the bound', async () => {
    const { n } = await node();
    const key = new TextEncoder().encode(JWT_SECRET);
    const mint = (claims: Record<string, unknown>, exp?: string) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('dash').setAudience('twinflow');
      return (exp === undefined ? jwt : jwt.setExpirationTime(exp)).sign(key);
    };
    const get = async (token: string) => {
      const r = await fetch(`${n.url}/twins${SENSOR_A}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: await r.text() };
    };
    // A token that never expires is not accepted forever.
    const noExp = await get(await mint({ roles: ['tenantA'] }));
    expect(noExp.status).toBe(401);
    expect(noExp.body).toMatch(/missing required \\?"exp\\?" claim/);
    // 12 KB (under the header size limit, over the 8,192-character bound): refused saying so, not cut.
    const big = await mint({ roles: ['tenantA'], pad: 'x'.repeat(12_000) }, '5m');
    expect(big.length).toBeGreaterThan(8192);
    const long = await get(big);
    expect(long.status).toBe(401);
    expect(long.body).toMatch(/longer than 8192 characters/);
    // Within the bound, the same claims read.
    expect((await get(await mint({ roles: ['tenantA'], pad: 'x'.repeat(4_000) }, '5m'))).status).toBe(200);
  });
});

describe('access rules over WARP (2 workers)', () => {
  it('links inside the grants, @unlinked forbidden outside; a wildcard link yields only readable twins', async () => {
    const { n } = await node();
    const bad = await fetch(`${n.url}/`, {
      headers: {
        connection: 'upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        authorization: 'Bearer tf_wrong',
      },
    }).catch(() => null);
    expect(bad?.status ?? 401).toBe(401);

    const c = await rawClient(`${n.ws}?token=${encodeURIComponent(app.token)}`);
    c.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced') && x.includes(SENSOR_A)));
    c.send(`@sync(node:"${SENSOR_B}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes(SENSOR_B) && x.includes('@forbidden')));
    // Finding: one @sync of /** read the whole twin space.
    c.send('@sync(node:"/**",lane:latest)');
    const before = c.messages.length;
    const msgs = await c.until((m) => m.some((x) => x.startsWith('@synced') && x.includes('"/**"')));
    // A wildcard link's events name the twin they come from.
    const events = msgs.slice(before).filter((x) => x.startsWith('@event'));
    expect(events.some((x) => x.includes(SENSOR_A))).toBe(true);
    expect(events.some((x) => x.includes('/org/b/'))).toBe(false);
    // Commands: inside the grant allowed, outside refused.
    c.send(`@command(node:"${UNIT_B}",lane:secure)true`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes(UNIT_B) && x.includes('@forbidden')));
  });

  it('a socket without credentials links nothing until @auth; @auth with a token opens its grants', async () => {
    const { n } = await node();
    const c = await rawClient(n.ws);
    c.send(`@link(node:"${SENSOR_A}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes('@forbidden')));
    c.send(`@auth{token:"${app.token}"}`);
    c.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@authed')) && m.some((x) => x.startsWith('@synced')));
    c.send('@auth{token:"tf_wrong"}');
    await c.until((m) => m.some((x) => x.startsWith('@deauthed')));
    // The link made under the token it just replaced is closed: a wrong token keeps no rights.
    await c.until((m) => m.filter((x) => x.startsWith('@unlinked') && x.includes('@forbidden')).length >= 2);
  });

  it('@auth without a credential in its body (none, {}, a number, an object, no token field) is @deauthed and counted, never @authed', async () => {
    // These used to be answered @authed while the socket stayed anonymous: the client was
    // told it had signed in, and its next link was refused for no reason it could see
    // (when the access file has `anonymous` grants, as a public dashboard's would).
    writeFileSync(file, JSON.stringify({ ...(rules() as object), anonymous: { roles: [] } }));
    const { n } = await node();
    const bodies = ['@auth', '@auth{}', '@auth{token:5}', '@auth{token:{a:1}}', '@auth{password:"x"}'];
    for (const body of bodies) {
      const c = await rawClient(n.ws);
      c.send(body);
      await c.until((m) => m.length === 1);
      expect(c.messages, body).toEqual(['@deauthed']);
      // A credential after it still works on the same socket.
      c.send(`@auth{token:"${app.token}"}`);
      await c.until((m) => m.length === 2);
      expect(c.messages[1], body).toBe('@authed');
    }
    expect(n.rejections.count('warp.unauthenticated')).toBe(bodies.length);
  });

  it('a token revoked by a reload stops working at once: its links close, HTTP and MQTT refuse it', async () => {
    const { n, bearer } = await node();
    const c = await rawClient(`${n.ws}?token=${encodeURIComponent(app.token)}`);
    c.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    const mqtt = await mqttClient(n.ingestion.mqtt!.url, {
      username: 'app-a',
      password: app.token,
      protocolVersion: 5,
    });
    let closed = false;
    mqtt.on('close', () => (closed = true));
    writeFileSync(file, JSON.stringify(rules(false)));
    // The file watcher reloads it; no restart.
    await c.until((m) => m.some((x) => x.startsWith('@deauthed')), 5000);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes(SENSOR_A) && x.includes('@forbidden')));
    expect((await fetch(`${n.url}/twins${SENSOR_A}`, { headers: bearer(app.token) })).status).toBe(401);
    await waitFor(() => closed, 5000, 'the revoked MQTT client to be disconnected');
  });
});

describe('access rules over MQTT (embedded broker, 2 workers)', () => {
  it('MQTT 5: a device publishes to its own sensor only (0x87 elsewhere); outputs cannot be forged', async () => {
    const { n, bearer, mqttUrl } = await node();
    const device = await mqttClient(mqttUrl, {
      username: 'room4-climate',
      password: 'pw',
      protocolVersion: 5,
      clientId: 'd1',
    });
    const data = (t: number) => JSON.stringify({ temperature: t, humidity: 40, co2: 500 });
    const own = (await device.publishAsync(SENSOR_A.slice(1), data(23), { qos: 1 })) as
      { reasonCode?: number } | undefined;
    expect(own?.reasonCode ?? 0).toBe(0);
    const other = await device.publishAsync(SENSOR_B.slice(1), data(99), { qos: 1 }).catch((e: { code?: number }) => e);
    expect((other as { reasonCode?: number; code?: number }).reasonCode ?? (other as { code?: number }).code).toBe(
      0x87,
    );
    // Finding: forged signals and device commands reached every subscriber.
    const listener = await mqttClient(mqttUrl, { username: 'operator', password: operator.token, protocolVersion: 5 });
    const heard: string[] = [];
    listener.on('message', (topic) => heard.push(topic));
    await listener.subscribeAsync('#');
    const forged = await device
      .publishAsync('org/a/site/s1/signals/evacuation', '{}', { qos: 1 })
      .catch((e: { code?: number }) => e);
    expect((forged as { reasonCode?: number; code?: number }).reasonCode ?? (forged as { code?: number }).code).toBe(
      0x87,
    );
    // It may subscribe to its own command topic, not to another device's.
    const sub = await device.subscribeAsync(`${SENSOR_A.slice(1)}/commands/setpoint`);
    expect(sub.map((g) => g.qos)).toEqual([0]);
    await expect(device.subscribeAsync(`${SENSOR_B.slice(1)}/commands/setpoint`)).rejects.toThrow(/Not authorized/);
    const b = await snapshot(await fetch(`${n.url}/twins${SENSOR_B}`, { headers: bearer(operator.token) }));
    expect(b.lanes.latest?.temperature).toBe(21); // nothing reached the twin
    await waitFor(async () => {
      const a = await snapshot(await fetch(`${n.url}/twins${SENSOR_A}`, { headers: bearer(operator.token) }));
      return a.lanes.latest?.temperature === 23;
    });
    expect(heard.some((t) => t.includes('signals/evacuation'))).toBe(false);
  });

  it('MQTT 3.1.1: a bad password is refused at CONNECT; a publish elsewhere is dropped; # sees only what it may read', async () => {
    const { n, bearer, mqttUrl } = await node();
    await expect(
      mqttClient(mqttUrl, { username: 'room4-climate', password: 'nope', protocolVersion: 4 }),
    ).rejects.toThrow(/Bad username or password|bad user name/i);
    // Finding: an anonymous client could publish anything; now it cannot even connect.
    await expect(mqttClient(mqttUrl, { protocolVersion: 4 })).rejects.toThrow(
      /Not authorized|Bad username or password/i,
    );
    const device = await mqttClient(mqttUrl, { username: 'room4-climate', password: 'pw', protocolVersion: 4 });
    const reader = await mqttClient(mqttUrl, { username: 'app-a', password: app.token, protocolVersion: 4 });
    const heard: string[] = [];
    const payloads: string[] = [];
    reader.on('message', (topic, payload) => {
      heard.push(topic);
      payloads.push(payload.toString());
    });
    await reader.subscribeAsync('#');
    // Finding: a forged HVAC command reached the floor's controller. 3.1.1 has no negative PUBACK:
    // acknowledged, dropped, counted; tenant A's `#` (which may read that floor) never hears it.
    await device.publishAsync('org/a/site/s1/building/b1/floor/1/commands/hvac', '{"mode":"heat","setpoint":35}', {
      qos: 1,
    });
    await device.publishAsync(SENSOR_B.slice(1), JSON.stringify({ temperature: 77, humidity: 1, co2: 1 }), { qos: 1 });
    const operatorClient = await mqttClient(mqttUrl, {
      username: 'operator',
      password: operator.token,
      protocolVersion: 4,
    });
    await operatorClient.publishAsync(SENSOR_B.slice(1), JSON.stringify({ temperature: 31, humidity: 1, co2: 1 }), {
      qos: 1,
    });
    await operatorClient.publishAsync(SENSOR_A.slice(1), JSON.stringify({ temperature: 32, humidity: 1, co2: 1 }), {
      qos: 1,
    });
    await waitFor(() => heard.includes(SENSOR_A.slice(1)), 5000, 'tenant A reading on #');
    expect(heard.some((t) => t.startsWith('org/b/'))).toBe(false);
    // (The node itself may publish HVAC commands for that floor; the forged one never arrives.)
    expect(payloads.some((p) => p.includes('"setpoint":35'))).toBe(false);
    const b = await snapshot(await fetch(`${n.url}/twins${SENSOR_B}`, { headers: bearer(operator.token) }));
    expect(b.lanes.latest?.temperature).toBe(31); // the device's 77 never reached it
  });
});

describe('secure by default', () => {
  it('refuses a non-loopback address without access rules; --insecure starts and warns', async () => {
    await expect(warpNode({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
      message: expect.stringMatching(/refusing to serve HTTP\/WARP on 0\.0\.0\.0 without access rules.*--auth/),
    });
    await expect(warpNode({ mqtt: { port: 0, host: '0.0.0.0' } })).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
    });
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const n = await warpNode({ host: '0.0.0.0', insecure: true, logger });
    expect(n.url).toMatch(/^http:/);
    expect(lines.some((l) => l.includes('WITHOUT access rules'))).toBe(true);
  });
});
