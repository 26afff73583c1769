/**
 * A JWT check in flight while the access file is reloaded: the verdict it reaches with the
 * key the reload rotated out must not be remembered for the requests after the reload. jose
 * checks the signature with WebCrypto (`crypto.subtle.verify`, off the event loop); the test
 * holds that call on a promise, so the reload lands inside the check every time, no sleeps.
 * Real sockets on 127.0.0.1 port 0.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, expect, it, vi } from 'vitest';
import { AccessControl } from '../../src/index.js';
import { tempDir } from '../support/tmp.js';
import { warpNode } from '../support/warp.js';

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

afterEach(() => {
  delete process.env[OLD_KEY];
  delete process.env[NEW_KEY];
  vi.restoreAllMocks();
});

it('a JWT whose key a reload rotated out is refused right after the reload, even when its check was in flight', async () => {
  process.env[OLD_KEY] = 'o'.repeat(48);
  process.env[NEW_KEY] = 'n'.repeat(48);
  const file = join(tempDir(), 'access.json');
  writeFileSync(file, JSON.stringify(rules(OLD_KEY)));
  // The node's own AccessControl would also watch the file: only the reload below may reload it.
  const access = await AccessControl.fromFile(file);
  const n = await warpNode({ access });
  const status = async (token: string): Promise<number> =>
    (await fetch(`${n.url}/twins${SENSOR}`, { headers: { authorization: `Bearer ${token}` } })).status;
  const old = await jwt(OLD_KEY);

  // The first signature check waits for `release`; the checks after it run as usual.
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
