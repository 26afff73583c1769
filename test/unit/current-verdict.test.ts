/**
 * authenticateCurrent (src/node/auth/current-verdict.ts), the credential check of a new WARP
 * socket or MQTT connection: a reload that lands inside the check makes it check again under
 * the new rules; reloads landing inside every check are bounded (refused after
 * MAX_RECHECKS more). The reloads run inside jose's WebCrypto signature check, so they land
 * inside the check every time. The fronts' own tests: test/integration/access-reload-race.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, expect, it, vi } from 'vitest';
import { AccessControl, type Credential } from '../../src/index.js';
import { authenticateCurrent, MAX_RECHECKS, type Verdict } from '../../src/node/auth/current-verdict.js';
import { tempDir } from '../support/tmp.js';

const KEY = 'TWINFLOW_TEST_JWT_CURRENT';
const rules = {
  roles: { reader: [{ paths: ['/org/**'], rights: ['read'] }] },
  jwt: { secretEnv: KEY, audience: 'twinflow' },
};

afterEach(() => {
  delete process.env[KEY];
  vi.restoreAllMocks();
});

async function setup(): Promise<{ access: AccessControl; credential: Credential }> {
  process.env[KEY] = 'k'.repeat(48);
  const file = join(tempDir(), 'access.json');
  writeFileSync(file, JSON.stringify(rules));
  const token = await new SignJWT({ roles: ['reader'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('dash')
    .setAudience('twinflow')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(process.env[KEY]));
  return { access: await AccessControl.fromFile(file), credential: { kind: 'bearer', token } };
}

/** The next `times` signature checks each reload the (unchanged) access file before they answer. */
function reloadInside(access: AccessControl, times: number): { calls: () => number } {
  const subtle = globalThis.crypto.subtle;
  const verify = subtle.verify.bind(subtle);
  let reloads = 0;
  const spy = vi.spyOn(subtle, 'verify').mockImplementation(async (...args) => {
    if (reloads < times) {
      reloads++;
      await access.reload();
    }
    return verify(...args);
  });
  return { calls: () => spy.mock.calls.length };
}

const decide = (v: Verdict): string =>
  v.principal ? `admitted ${v.principal.name}` : `refused: ${(v.error as Error).message}`;

it('no reload during the check: one check, its verdict', async () => {
  const { access, credential } = await setup();
  const { calls } = reloadInside(access, 0);
  expect(await authenticateCurrent(access, credential, decide)).toBe('admitted dash');
  expect(calls()).toBe(1);
});

it('a reload during the check: checked again under the rules in force, then decided', async () => {
  const { access, credential } = await setup();
  const { calls } = reloadInside(access, 1);
  expect(await authenticateCurrent(access, credential, decide)).toBe('admitted dash');
  expect(calls()).toBe(2);
});

it(`reloads during every check: refused after ${MAX_RECHECKS} more checks (the client connects again)`, async () => {
  const { access, credential } = await setup();
  const { calls } = reloadInside(access, Infinity);
  expect(await authenticateCurrent(access, credential, decide)).toMatch(/^refused: the access rules were reloaded/);
  expect(calls()).toBe(MAX_RECHECKS + 1);
  // The decision comes in the turn of the last comparison; nothing is decided twice.
  const decided = vi.fn(decide);
  await authenticateCurrent(access, credential, decided);
  expect(decided).toHaveBeenCalledTimes(1);
});
