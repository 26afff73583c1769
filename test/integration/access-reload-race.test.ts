/**
 * A JWT check in flight while the access file is reloaded: the verdict it reaches with the
 * key the reload rotated out must not be remembered for the requests after the reload, nor
 * admit a WARP socket or an MQTT connection that the reload's re-check of open connections
 * could not see (it was not open yet). jose
 * checks the signature with WebCrypto (`crypto.subtle.verify`, off the event loop); the test
 * holds that call on a promise, so the reload lands inside the check every time, no sleeps.
 * Real sockets on 127.0.0.1 port 0.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { AccessControl } from '../../src/index.js';
import { closeClients, mqttClient } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';
import { rawClient, warpNode } from '../support/warp.js';

const SENSOR = '/org/a/site/s1/building/b1/floor/1/unit/u1/room/4/sensors/climate';
const OLD_KEY = 'TWINFLOW_TEST_JWT_OLD',
  NEW_KEY = 'TWINFLOW_TEST_JWT_NEW';
const rules = (secretEnv: string): unknown => ({
  roles: { reader: [{ paths: ['/org/**'], rights: ['read'] }] },
  jwt: { secretEnv, audience: 'twinflow' },
});
const jwt = (secretEnv: string): Promise<string> =>
  new SignJWT({ roles: ['reader'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('dash')
    .setAudience('twinflow')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(process.env[secretEnv]));

/**
 * A node whose access file accepts JWTs signed with the old key (both keys set in the
 * environment). It gets its own AccessControl: the node's would also watch the file, and only
 * the test's `access.reload()` may reload it.
 */
async function nodeOnOldKey(
  options: Parameters<typeof warpNode>[0] = {},
): Promise<{ file: string; access: AccessControl; n: Awaited<ReturnType<typeof warpNode>> }> {
  process.env[OLD_KEY] = 'o'.repeat(48);
  process.env[NEW_KEY] = 'n'.repeat(48);
  const file = join(tempDir(), 'access.json');
  writeFileSync(file, JSON.stringify(rules(OLD_KEY)));
  const access = await AccessControl.fromFile(file);
  return { file, access, n: await warpNode({ ...options, access }) };
}

afterEach(async () => {
  await closeClients();
  delete process.env[OLD_KEY];
  delete process.env[NEW_KEY];
  vi.restoreAllMocks();
});

it('a JWT whose key a reload rotated out is refused right after the reload, even when its check was in flight', async () => {
  const { file, access, n } = await nodeOnOldKey();
  const status = async (token: string): Promise<number> =>
    (await fetch(`${n.url}/twins${SENSOR}`, { headers: { authorization: `Bearer ${token}` } })).status;
  const old = await jwt(OLD_KEY);

  // The first signature check waits for `release`; the checks after it run as usual.
  const { inside, release, held } = holdFirstVerify();

  const inFlight = status(old);
  await inside; // the check has read the old rules and key, and waits for WebCrypto
  writeFileSync(file, JSON.stringify(rules(NEW_KEY))); // the key is rotated: tokens signed with the old one are revoked
  await access.reload();
  release();
  // Answered under the rules it started with (it was in before the reload): not what this test is about.
  await inFlight;
  expect(held).toHaveBeenCalled();

  expect(await status(old)).toBe(401);
  // The node still accepts a token signed with the new key: the refusal is the rotation's.
  expect(await status(await jwt(NEW_KEY))).not.toBe(401);
});

/**
 * The first signature check from now on waits until `release()`; `inside` resolves once it
 * started (the check has read the rules and key in force, and waits for WebCrypto).
 */
function holdFirstVerify(): { inside: Promise<void>; release: () => void; held: { mock: { calls: unknown[] } } } {
  const subtle = globalThis.crypto.subtle;
  const verify = subtle.verify.bind(subtle);
  let entered!: () => void, release!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const released = new Promise<void>((r) => (release = r));
  const held = vi.spyOn(subtle, 'verify').mockImplementationOnce(async (...args) => {
    entered();
    await released;
    return verify(...args);
  });
  return { inside, release, held };
}

/** Opens a WARP socket with a bearer token: 101 when it opened, else the status the upgrade was refused with. */
function upgrade(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('error', (err) => resolve(Number(/Unexpected server response: (\d+)/.exec(err.message)?.[1] ?? 0)));
  });
}

it('a WARP upgrade whose JWT check a reload lands in is checked again under the new rules: refused 401, not opened with the old verdict', async () => {
  const { file, access, n } = await nodeOnOldKey();
  const old = await jwt(OLD_KEY);

  const { inside, release, held } = holdFirstVerify();
  const opening = upgrade(n.ws, old);
  await inside; // the upgrade's check has read the old key; its socket is not open, so the reload cannot re-check it
  writeFileSync(file, JSON.stringify(rules(NEW_KEY)));
  await access.reload();
  release();
  // Before the fix: 101, a socket open with the revoked token's grants that no re-check would ever see.
  expect(await opening).toBe(401);
  expect(held).toHaveBeenCalled();
  expect(n.warp.sessions()).toHaveLength(0);
  expect(n.rejections.count('warp.unauthenticated')).toBe(1);
  // The refusal is the rotation's: a token signed with the new key opens a socket.
  expect(await upgrade(n.ws, await jwt(NEW_KEY))).toBe(101);
});

for (const protocolVersion of [4, 5] as const) {
  it(`an MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} CONNECT whose JWT check a reload lands in is checked again under the new rules: refused, not connected with the old verdict`, async () => {
    const { file, access, n } = await nodeOnOldKey({ mqtt: { port: 0 } });
    const url = n.ingestion.mqtt!.url;
    const old = await jwt(OLD_KEY);

    const { inside, release, held } = holdFirstVerify();
    const connecting = mqttClient(url, { username: 'dash', password: old, protocolVersion }).then(
      () => 'connected',
      (err: Error) => err.message,
    );
    await inside; // the CONNECT's check has read the old key; the connection is not registered yet
    writeFileSync(file, JSON.stringify(rules(NEW_KEY)));
    await access.reload();
    release();
    // Before the fix: 'connected', with the revoked token's grants, and no re-check would ever see it.
    expect(await connecting).toMatch(/bad user ?name or password/i);
    expect(held).toHaveBeenCalled();
    expect(n.rejections.count('mqtt.unauthenticated')).toBe(1);
    // The refusal is the rotation's: a token signed with the new key connects.
    const fresh = await mqttClient(url, { username: 'dash', password: await jwt(NEW_KEY), protocolVersion });
    expect(fresh.connected).toBe(true);
  });
}

it('an @auth on an open WARP socket whose JWT check a reload lands in gets the new rules verdict, not the old one', async () => {
  const { file, access, n } = await nodeOnOldKey();
  const c = await rawClient(n.ws); // no credentials yet: it links nothing until @auth
  const old = await jwt(OLD_KEY);

  const { inside, release, held } = holdFirstVerify();
  c.send(`@auth{token:"${old}"}`);
  await inside; // the @auth's check read the old key and waits for WebCrypto
  writeFileSync(file, JSON.stringify(rules(NEW_KEY)));
  await access.reload(); // its re-check of the socket refuses the old key
  release(); // the @auth's own check now finds the old key valid: too late to count
  await c.until((m) => m.some((x) => x.startsWith('@deauthed') || x.startsWith('@authed')));
  expect(held).toHaveBeenCalled();
  expect(c.messages.some((x) => x.startsWith('@authed'))).toBe(false);
  c.send(`@sync(node:"${SENSOR}",lane:latest)`);
  await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes('@forbidden')));
  expect(c.messages.some((x) => x.startsWith('@synced'))).toBe(false); // (the support module closes the socket)
});
