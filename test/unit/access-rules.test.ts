import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessControl } from '../../src/access/access-control.js';
import { compileAccessFile } from '../../src/access/access-file.js';
import { GrantSet } from '../../src/access/path-grants.js';
import { hashPassword, hashToken, newToken, verifyPassword } from '../../src/access/secrets.js';
import { TwinError } from '../../src/errors.js';
import { credentialOf, credentialOfAuthBody } from '../../src/node/auth/credentials.js';
import { tempDir } from '../support/tmp.js';

const A = '/org/a/site/s1/building/b1/floor/1/unit/u1/room/1/sensors/climate';
const B = '/org/b/site/s1/building/b1/floor/1/unit/u1/room/1/sensors/climate';

function writeAccess(dir: string, json: unknown, name = 'access.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('grants on path patterns', () => {
  it('decide per right and path, with the project wildcards', () => {
    const g = GrantSet.bind(
      [
        { pattern: '/org/a/**', bits: 1 },
        { pattern: '/org/*/site/*/building/*/floor/*/unit/*/room/*/sensors/climate', bits: 2 },
      ],
      {},
    );
    expect(g.allows('read', A)).toBe(true);
    expect(g.allows('read', '/org/a')).toBe(true);
    expect(g.allows('read', B)).toBe(false);
    expect(g.allows('ingest', B)).toBe(true);
    expect(g.allows('ingest', B.replace('climate', 'fire'))).toBe(false);
    expect(g.allows('command', A)).toBe(false);
    expect(g.allows('read', 'not a path//')).toBe(false);
    expect(g.allowsEverywhere('read')).toBe(false);
    expect(g.scopes('read')).toEqual(['/org/a/**']);
    expect(GrantSet.ALL.scopes('read')).toBeUndefined();
  });

  it('bind {principal} and {clientId} to one segment only', () => {
    const templates = [{ pattern: '/org/a/**/sensors/{clientId}', bits: 2 }];
    expect(GrantSet.bind(templates, { clientId: 'climate' }).allows('ingest', A)).toBe(true);
    expect(GrantSet.bind(templates, { clientId: 'fire' }).allows('ingest', A)).toBe(false);
    // A client id that is not one segment grants nothing (it cannot widen the pattern).
    for (const clientId of ['a/b', '*', '**', '', undefined])
      expect(GrantSet.bind(templates, { clientId }).allowsAnywhere('ingest')).toBe(false);
  });

  it('never grant what no pattern matches (property, against a naive reference)', () => {
    const seg = fc.constantFrom('org', 'a', 'b', 'site', 's1', 'x');
    const path = fc.array(seg, { minLength: 1, maxLength: 6 }).map((s) => '/' + s.join('/'));
    const pattern = fc.array(fc.oneof(seg, fc.constant('*'), fc.constant('**')), { minLength: 1, maxLength: 5 });
    const rule = fc.record({ parts: pattern, bits: fc.integer({ min: 1, max: 15 }) });
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 6 }), path, (rules, p) => {
        // Several rules (indexed by their literal prefix): each right is granted iff some rule with it matches.
        const g = GrantSet.bind(
          rules.map((r) => ({ pattern: '/' + r.parts.join('/'), bits: r.bits })),
          {},
        );
        const segs = p.slice(1).split('/');
        for (const [right, bit] of [
          ['read', 1],
          ['ingest', 2],
          ['command', 4],
          ['admin', 8],
        ] as const)
          expect(g.allows(right, p)).toBe(rules.some((r) => (r.bits & bit) !== 0 && naiveMatch(r.parts, segs)));
      }),
      { numRuns: 3000 },
    );
  });
});

function naiveMatch(pattern: string[], segs: string[]): boolean {
  if (pattern.length === 0) return segs.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return segs.some((_, i) => naiveMatch(rest, segs.slice(i))) || naiveMatch(rest, []);
  if (segs.length === 0) return false;
  return (head === '*' || head === segs[0]) && naiveMatch(rest, segs.slice(1));
}

describe('the access file', () => {
  it('refuses mistakes, naming where they are', () => {
    const cases: [unknown, RegExp][] = [
      [{ principals: { app: { tokens: ['plain-token'] } } }, /principals\.app\.tokens\[0\] must be "sha256:"/],
      [{ principals: { app: { grants: [{ paths: ['/org/a/**'], rights: ['write'] }] } } }, /rights\[0\] is "write"/],
      [{ principals: { app: { grants: [{ paths: ['org/a'], rights: ['read'] }] } } }, /must start with "\/"/],
      [{ principals: { app: { roles: ['nope'] } } }, /names role "nope"/],
      [{ principals: { app: { token: [] } } }, /unknown key "token"/],
      [{ roles: { r: [{ paths: ['/a/{user}'], rights: ['read'] }] } }, /only \{principal\} and \{clientId\}/],
      [{ jwt: {} }, /exactly one of secretEnv, publicKeyFile, jwksFile/],
      [[], /the access file must be an object/],
    ];
    for (const [json, message] of cases) {
      const err = (() => {
        try {
          compileAccessFile(json);
        } catch (e) {
          return e as TwinError;
        }
        throw new Error(`accepted ${JSON.stringify(json)}`);
      })();
      expect(err).toBeInstanceOf(TwinError);
      expect(err.code).toBe('TWIN_CONFIG_INVALID');
      expect(err.message).toMatch(message);
    }
  });

  it('stores secrets only as hashes that verify', async () => {
    const { token, stored } = newToken();
    expect(stored).toBe(hashToken(token));
    expect(stored).not.toContain(token);
    const pw = hashPassword('correct horse');
    expect(await verifyPassword('correct horse', pw)).toBe(true);
    expect(await verifyPassword('wrong horse', pw)).toBe(false);
    expect(await verifyPassword('x', 'scrypt:1:1:1:a:b')).toBe(false);
  });
});

describe('AccessControl', () => {
  it('authenticates tokens, passwords and the anonymous caller; refuses the rest with 401', async () => {
    const dir = tempDir();
    const app = newToken();
    const file = writeAccess(dir, {
      roles: { reader: [{ paths: ['/org/a/**'], rights: ['read'] }] },
      principals: {
        app: { roles: ['reader'], tokens: [app.stored] },
        device: {
          password: hashPassword('pw'),
          grants: [{ paths: ['/org/a/**/sensors/{clientId}'], rights: ['ingest'] }],
        },
      },
      anonymous: { grants: [{ paths: ['/org/public/**'], rights: ['read'] }] },
    });
    const access = await AccessControl.fromFile(file);
    const p = await access.authenticate({ kind: 'bearer', token: app.token });
    expect(p.name).toBe('app');
    expect(p.grantsFor().allows('read', A)).toBe(true);
    expect(p.grantsFor().allows('read', B)).toBe(false);
    const d = await access.authenticate({ kind: 'password', username: 'device', password: 'pw' });
    expect(d.grantsFor({ clientId: 'climate' }).allows('ingest', A)).toBe(true);
    const anon = await access.authenticate({ kind: 'none' });
    expect(anon.grantsFor().allows('read', '/org/public/x')).toBe(true);
    expect(anon.grantsFor().allows('read', A)).toBe(false);
    for (const bad of [
      { kind: 'bearer', token: 'tf_nope' },
      { kind: 'password', username: 'device', password: 'wrong' },
      { kind: 'certificate', commonName: 'device-7' },
    ] as const)
      await expect(access.authenticate(bad)).rejects.toMatchObject({ code: 'TWIN_UNAUTHENTICATED', status: 401 });
  });

  it('verifies JWTs (HS256 from the environment, RS256 from a PEM file): expiry, issuer, audience, roles', async () => {
    const dir = tempDir();
    const secret = 's'.repeat(40);
    process.env.TWINFLOW_TEST_JWT = secret;
    const hs = await AccessControl.fromFile(
      writeAccess(dir, {
        roles: { reader: [{ paths: ['/org/a/**'], rights: ['read'] }] },
        jwt: { secretEnv: 'TWINFLOW_TEST_JWT', issuer: 'idp', audience: 'twinflow' },
      }),
    );
    const key = new TextEncoder().encode(secret);
    const sign = (exp: string | number, claims: Record<string, unknown> = { roles: ['reader'] }) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('tenant-a')
        .setIssuer('idp')
        .setAudience('twinflow')
        .setExpirationTime(exp)
        .sign(key);
    const ok = await hs.authenticate({ kind: 'bearer', token: await sign('5m') });
    expect(ok.name).toBe('tenant-a');
    expect(ok.source).toBe('jwt');
    expect(ok.grantsFor().allows('read', A)).toBe(true);
    expect(ok.expiresAt).toBeGreaterThan(Date.now());
    // Expired beyond the 30 s tolerance, wrong audience, wrong key: refused.
    const expired = await sign(Math.floor(Date.now() / 1000) - 120);
    await expect(hs.authenticate({ kind: 'bearer', token: expired })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
    });
    // No exp: the token would be good forever; refused, saying exp is missing.
    const noExp = await new SignJWT({ roles: ['reader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('tenant-a')
      .setIssuer('idp')
      .setAudience('twinflow')
      .sign(key);
    await expect(hs.authenticate({ kind: 'bearer', token: noExp })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
      message: expect.stringMatching(/missing required "exp" claim/),
    });
    // Longer than the bound: refused saying so (as a bearer token and as a password).
    const big = await sign('5m', { roles: ['reader'], pad: 'x'.repeat(12_000) });
    await expect(hs.authenticate({ kind: 'bearer', token: big })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
      message: 'invalid token: longer than 8192 characters',
    });
    await expect(hs.authenticate({ kind: 'password', username: 'x', password: big })).rejects.toMatchObject({
      message: 'invalid token: longer than 8192 characters',
    });
    const wrongAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('idp')
      .setAudience('other')
      .setExpirationTime('5m')
      .sign(key);
    await expect(hs.authenticate({ kind: 'bearer', token: wrongAud })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
    });

    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'idp.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const rs = await AccessControl.fromFile(
      writeAccess(
        dir,
        { roles: { reader: [{ paths: ['/org/a/**'], rights: ['read'] }] }, jwt: { publicKeyFile: 'idp.pem' } },
        'rs.json',
      ),
    );
    const rsToken = await new SignJWT({ roles: 'reader' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('dash')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await rs.authenticate({ kind: 'bearer', token: rsToken })).grantsFor().allows('read', A)).toBe(true);
    // An HS256 token signed with the RSA public key as the secret (the classic confusion) is refused.
    const confused = await new SignJWT({ roles: ['reader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(publicKey.export({ type: 'spki', format: 'pem' }) as string));
    await expect(rs.authenticate({ kind: 'bearer', token: confused })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
    });
    delete process.env.TWINFLOW_TEST_JWT;
  });

  it('reloads: a revoked token stops working, a bad file keeps the rules in force', async () => {
    const dir = tempDir();
    const t = newToken();
    const rules = { principals: { app: { tokens: [t.stored], grants: [{ paths: ['/org/a/**'], rights: ['read'] }] } } };
    const file = writeAccess(dir, rules);
    const access = await AccessControl.fromFile(file);
    await access.authenticate({ kind: 'bearer', token: t.token });
    let reloads = 0;
    access.onReload(() => reloads++);
    writeFileSync(file, '{ not json');
    await expect(access.reload()).rejects.toMatchObject({ code: 'TWIN_CONFIG_INVALID' });
    expect((await access.authenticate({ kind: 'bearer', token: t.token })).name).toBe('app');
    writeFileSync(file, JSON.stringify({ principals: { app: { grants: rules.principals.app.grants } } }));
    await access.reload();
    expect(reloads).toBe(1);
    await expect(access.authenticate({ kind: 'bearer', token: t.token })).rejects.toMatchObject({
      code: 'TWIN_UNAUTHENTICATED',
    });
  });
});

describe('credentials of the fronts', () => {
  it('pass a token on whole, so one over the bound is refused saying so rather than cut', () => {
    const long = 'a.b.' + 'c'.repeat(9_000);
    expect(credentialOf({ authorization: `Bearer ${long}` }, '/')).toEqual({ kind: 'bearer', token: long });
    expect(credentialOf({}, `/?token=${long}`, true)).toEqual({ kind: 'bearer', token: long });
    expect(credentialOfAuthBody({ token: long })).toEqual({ kind: 'bearer', token: long });
    expect(credentialOfAuthBody(long)).toEqual({ kind: 'bearer', token: long });
  });
});
