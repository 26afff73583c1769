import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { TwinError } from '../errors.js';
import type { JwtSettings } from './access-file.js';

/** What a valid JWT says about its bearer. */
export interface JwtClaims {
  readonly name: string;
  readonly roles: readonly string[];
  /** `exp` in ms since the epoch, when the token has one. */
  readonly expiresAt: number | undefined;
}

/** Checks a JWT's signature, algorithm, issuer, audience and time claims (`exp` required); rejects when any fails. */
export type JwtVerifier = (token: string) => Promise<JwtClaims>;

/** Three base64url parts: a JWS compact serialization (an API token never has dots). */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

/**
 * A verifier for the access file's `jwt` settings, on jose (a maintained, audited JOSE
 * implementation: JWS signature checks are not something to write by hand). The key is
 * read once per (re)load: an HS256 secret from an environment variable, a PEM public key,
 * or a JWKS file whose keys are picked by `kid`. Paths are relative to the access file.
 *
 * @example
 * ```ts
 * const verify = await createJwtVerifier({ secretEnv: 'JWT_SECRET', principalClaim: 'sub', rolesClaim: 'roles', clockToleranceSeconds: 30 }, '.');
 * const { name, roles } = await verify(token);
 * ```
 */
export async function createJwtVerifier(settings: JwtSettings, baseDir: string): Promise<JwtVerifier> {
  const { key, algorithms } = await loadKey(settings, baseDir);
  const options = {
    algorithms: [...(settings.algorithms ?? algorithms)],
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds,
    // A token without `exp` would be good forever: refused (jose then says `missing required "exp" claim`).
    requiredClaims: ['exp'],
  };
  return async (token) => {
    const { payload } =
      typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
    return claimsOf(payload, settings);
  };
}

async function loadKey(
  s: JwtSettings,
  baseDir: string,
): Promise<{ key: KeyObject | JWTVerifyGetKey; algorithms: readonly string[] }> {
  if (s.secretEnv !== undefined) {
    const secret = process.env[s.secretEnv];
    // 32 bytes: RFC 7518 asks HS256 keys to be at least as long as the hash.
    if (!secret || Buffer.byteLength(secret) < 32)
      throw configError(`jwt.secretEnv: ${s.secretEnv} must hold a secret of at least 32 bytes`);
    return { key: createSecretKey(Buffer.from(secret, 'utf8')), algorithms: ['HS256'] };
  }
  if (s.publicKeyFile !== undefined) {
    const file = resolve(baseDir, s.publicKeyFile);
    let key: KeyObject;
    try {
      key = createPublicKey(await readFile(file, 'utf8'));
    } catch (err) {
      throw configError(`jwt.publicKeyFile ${file}: ${(err as Error).message}`, err);
    }
    const alg = key.asymmetricKeyType === 'rsa' ? 'RS256' : key.asymmetricKeyType === 'ec' ? 'ES256' : undefined;
    if (!alg) throw configError(`jwt.publicKeyFile ${file}: an RSA or EC public key is needed`);
    return { key, algorithms: [alg] };
  }
  const file = resolve(baseDir, s.jwksFile!);
  try {
    const jwks = JSON.parse(await readFile(file, 'utf8')) as Parameters<typeof createLocalJWKSet>[0];
    return { key: createLocalJWKSet(jwks), algorithms: ['RS256', 'ES256'] };
  } catch (err) {
    throw configError(`jwt.jwksFile ${file}: ${(err as Error).message}`, err);
  }
}

function claimsOf(payload: JWTPayload, s: JwtSettings): JwtClaims {
  const name = payload[s.principalClaim];
  if (typeof name !== 'string' || name.length === 0 || name.length > 256)
    throw new Error(`claim "${s.principalClaim}" must name the principal`);
  const raw = payload[s.rolesClaim];
  const roles = Array.isArray(raw)
    ? raw.filter((r): r is string => typeof r === 'string')
    : typeof raw === 'string'
      ? [raw]
      : [];
  return { name, roles, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
}

function configError(message: string, cause?: unknown): TwinError {
  return new TwinError('TWIN_CONFIG_INVALID', `access file: ${message}`, undefined, { cause });
}
