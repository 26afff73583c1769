import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TwinError } from '../errors.js';

/**
 * How secrets are kept in the access file: never in clear.
 *
 * - API tokens are 32 random bytes (base64url), stored as `sha256:<hex>`. A token has 256
 *   bits of entropy, so a fast hash is enough to make the file useless to a reader, and a
 *   presented token is found by its hash in one map lookup (no per-principal comparisons).
 * - Passwords (MQTT CONNECT) are chosen by people and may be weak, so they are stored as
 *   `scrypt:<N>:<r>:<p>:<salt>:<hash>` and compared in constant time.
 */

const TOKEN_PREFIX = 'sha256:';
const SCRYPT_PREFIX = 'scrypt:';
/** scrypt cost: 2^14 (16 MiB of memory per check with r = 8), ~50 ms here; checked once per connection. */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 } as const;

/**
 * A new API token and what to write in the access file for it.
 *
 * @example
 * ```ts
 * const { token, stored } = newToken(); // give `token` to the app, put `stored` in "tokens"
 * ```
 */
export function newToken(): { token: string; stored: string } {
  const token = 'tf_' + randomBytes(32).toString('base64url');
  return { token, stored: hashToken(token) };
}

/** `sha256:<hex>` of a token: how it is stored, and the key it is looked up by. */
export function hashToken(token: string): string {
  return TOKEN_PREFIX + createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Checks a stored token hash as written in the access file; throws TWIN_CONFIG_INVALID. */
export function checkStoredToken(stored: unknown, where: string): string {
  if (typeof stored !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(stored))
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `${where} must be "sha256:" and 64 lowercase hex digits (twinflow auth token prints one)`,
    );
  return stored;
}

/**
 * `scrypt:N:r:p:salt:hash` of a password (salt and hash base64url).
 *
 * @example
 * ```ts
 * verifyPassword('s3cret', hashPassword('s3cret')); // true
 * ```
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `${SCRYPT_PREFIX}${SCRYPT.N}:${SCRYPT.r}:${SCRYPT.p}:${salt.toString('base64url')}:${hash.toString('base64url')}`;
}

interface ParsedPassword {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Checks a stored password hash as written in the access file; throws TWIN_CONFIG_INVALID. */
export function checkStoredPassword(stored: unknown, where: string): string {
  if (typeof stored !== 'string' || parsePassword(stored) === undefined)
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `${where} must be a scrypt hash "scrypt:N:r:p:salt:hash" (twinflow auth password prints one)`,
    );
  return stored;
}

/**
 * True when `password` matches `stored` (constant-time comparison of the derived keys). On
 * libuv's thread pool, not the event loop: a check costs ~50 ms of CPU, and a burst of
 * device reconnects must not stall every other connection of the node.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const s = parsePassword(stored);
  if (!s) return false;
  const options: ScryptOptions = { N: s.N, r: s.r, p: s.p, maxmem: 256 * s.N * s.r };
  const got = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, s.salt, s.hash.length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return timingSafeEqual(got, s.hash);
}

function parsePassword(stored: string): ParsedPassword | undefined {
  if (!stored.startsWith(SCRYPT_PREFIX)) return undefined;
  const [n, r, p, salt, hash] = stored.slice(SCRYPT_PREFIX.length).split(':');
  const N = Number(n),
    R = Number(r),
    P = Number(p);
  // Bounded so a hostile file cannot make each check take minutes or gigabytes.
  const ok =
    Number.isInteger(N) && N >= 1024 && N <= 1 << 20 && (N & (N - 1)) === 0 && R >= 1 && R <= 32 && P >= 1 && P <= 4;
  if (!ok || !salt || !hash) return undefined;
  const h = Buffer.from(hash, 'base64url');
  if (h.length < 16) return undefined;
  return { N, r: R, p: P, salt: Buffer.from(salt, 'base64url'), hash: h };
}
