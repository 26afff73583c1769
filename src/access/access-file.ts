import { TwinError } from '../errors.js';
import { checkGrantPattern, type GrantTemplate } from './path-grants.js';
import { isRight, rightsToBits } from './rights.js';
import { checkStoredPassword, checkStoredToken } from './secrets.js';

/** JWT settings of the access file (see docs/security.md). Files are relative to the access file. */
export interface JwtSettings {
  /** Accepted algorithms (default: those the key supports among HS256, RS256, ES256). */
  readonly algorithms?: readonly ('HS256' | 'RS256' | 'ES256')[];
  /** HS256: the environment variable holding the shared secret (never the secret in the file). */
  readonly secretEnv?: string;
  /** RS256/ES256: a PEM public key (SPKI). */
  readonly publicKeyFile?: string;
  /** A JWKS document on disk (keys chosen by `kid`). */
  readonly jwksFile?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Claim naming the principal (default `sub`). */
  readonly principalClaim: string;
  /** Claim listing role names (default `roles`). */
  readonly rolesClaim: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds (default 30). */
  readonly clockToleranceSeconds: number;
}

/** One principal of the access file, its roles resolved into grant templates. */
export interface PrincipalEntry {
  readonly name: string;
  readonly grants: readonly GrantTemplate[];
  /** Events per second and burst for this principal's ingest (the node's default when absent). */
  readonly rate?: { readonly eventsPerSecond: number; readonly burst: number };
}

/** The access file, checked and compiled: what {@link AccessControl} decides with. */
export interface AccessRules {
  readonly roles: ReadonlyMap<string, readonly GrantTemplate[]>;
  readonly principals: ReadonlyMap<string, PrincipalEntry>;
  /** `sha256:<hex>` of each API token → principal name. */
  readonly tokens: ReadonlyMap<string, string>;
  /** Principal name → scrypt hash of its MQTT password. */
  readonly passwords: ReadonlyMap<string, string>;
  readonly jwt: JwtSettings | undefined;
  /** Roles of a client whose certificate the configured CA verified (its CN names it). */
  readonly certificateRoles: readonly string[] | undefined;
  /** Grants of a caller without credentials; undefined: such callers are refused (401). */
  readonly anonymous: readonly GrantTemplate[] | undefined;
  /** Principals (by name; `anonymous` for callers without credentials) that may scrape `/metrics` without `admin`. */
  readonly metricsReaders: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;

/**
 * Checks and compiles the JSON of an access file. Every mistake is a TWIN_CONFIG_INVALID
 * naming where it is (`principals.app.tokens[0]`): unknown keys included, since a typo in a
 * security file should stop the node, not silently grant or deny.
 *
 * @example
 * ```ts
 * const rules = compileAccessFile({ principals: { app: { tokens: ['sha256:…'], grants: [{ paths: ['/org/a/**'], rights: ['read'] }] } } });
 * ```
 */
export function compileAccessFile(json: unknown): AccessRules {
  const root = object(json, 'the access file');
  known(root, 'the access file', ['$schema', 'roles', 'principals', 'jwt', 'certificates', 'anonymous', 'metrics']);
  const roles = new Map<string, readonly GrantTemplate[]>();
  for (const [name, grants] of Object.entries(object(root.roles ?? {}, 'roles')))
    roles.set(name, grantList(grants, `roles.${name}`));
  const roleGrants = (names: unknown, where: string): GrantTemplate[] =>
    stringList(names ?? [], where).flatMap((r, i) => {
      const g = roles.get(r);
      if (!g) throw invalid(`${where}[${i}] names role "${r}", which "roles" does not define`);
      return g;
    });

  const principals = new Map<string, PrincipalEntry>();
  const tokens = new Map<string, string>();
  const passwords = new Map<string, string>();
  for (const [name, raw] of Object.entries(object(root.principals ?? {}, 'principals'))) {
    const where = `principals.${name}`;
    const p = object(raw, where);
    known(p, where, ['roles', 'grants', 'tokens', 'password', 'rate']);
    if (name.length === 0 || name.length > 256) throw invalid(`${where}: a principal name has 1 to 256 characters`);
    const grants = [...roleGrants(p.roles, `${where}.roles`), ...grantList(p.grants ?? [], `${where}.grants`)];
    stringList(p.tokens ?? [], `${where}.tokens`).forEach((t, i) => {
      const stored = checkStoredToken(t, `${where}.tokens[${i}]`);
      const other = tokens.get(stored);
      if (other !== undefined) throw invalid(`${where}.tokens[${i}] is also a token of "${other}"`);
      tokens.set(stored, name);
    });
    if (p.password !== undefined) passwords.set(name, checkStoredPassword(p.password, `${where}.password`));
    principals.set(name, { name, grants, rate: p.rate === undefined ? undefined : rate(p.rate, `${where}.rate`) });
  }

  let certificateRoles: string[] | undefined;
  if (root.certificates !== undefined) {
    const c = object(root.certificates, 'certificates');
    known(c, 'certificates', ['roles']);
    certificateRoles = stringList(c.roles ?? [], 'certificates.roles');
    roleGrants(certificateRoles, 'certificates.roles');
  }
  let anonymous: GrantTemplate[] | undefined;
  if (root.anonymous !== undefined) {
    const a = object(root.anonymous, 'anonymous');
    known(a, 'anonymous', ['roles', 'grants']);
    anonymous = [...roleGrants(a.roles, 'anonymous.roles'), ...grantList(a.grants ?? [], 'anonymous.grants')];
  }
  return {
    roles,
    principals,
    tokens,
    passwords,
    jwt: root.jwt === undefined ? undefined : jwtSettings(root.jwt),
    certificateRoles,
    anonymous,
    // A scraper gets its own principal (or none, on a private admin listener) without the admin right.
    metricsReaders: new Set(stringList(root.metrics ?? [], 'metrics')),
  };
}

function grantList(value: unknown, where: string): GrantTemplate[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of grants`);
  return value.flatMap((raw, i) => {
    const w = `${where}[${i}]`;
    const g = object(raw, w);
    known(g, w, ['paths', 'rights']);
    const rights = stringList(g.rights, `${w}.rights`);
    rights.forEach((r, j) => {
      if (r !== '*' && !isRight(r))
        throw invalid(`${w}.rights[${j}] is "${r}"; rights are read, ingest, command, admin or *`);
    });
    const bits = rightsToBits(rights as Parameters<typeof rightsToBits>[0]);
    return stringList(g.paths, `${w}.paths`).map((pattern, j) => {
      try {
        checkGrantPattern(pattern);
      } catch (err) {
        throw invalid(`${w}.paths[${j}]: ${(err as Error).message}`);
      }
      return { pattern, bits };
    });
  });
}

function jwtSettings(value: unknown): JwtSettings {
  const j = object(value, 'jwt');
  known(j, 'jwt', [
    'algorithms',
    'secretEnv',
    'publicKeyFile',
    'jwksFile',
    'issuer',
    'audience',
    'principalClaim',
    'rolesClaim',
    'clockToleranceSeconds',
  ]);
  const keys = ['secretEnv', 'publicKeyFile', 'jwksFile'].filter((k) => j[k] !== undefined);
  if (keys.length !== 1) throw invalid('jwt needs exactly one of secretEnv, publicKeyFile, jwksFile');
  const algorithms = j.algorithms === undefined ? undefined : stringList(j.algorithms, 'jwt.algorithms');
  algorithms?.forEach((a, i) => {
    if (a !== 'HS256' && a !== 'RS256' && a !== 'ES256')
      throw invalid(`jwt.algorithms[${i}] is "${a}"; use HS256, RS256 or ES256`);
  });
  const str = (k: string): string | undefined => (j[k] === undefined ? undefined : string(j[k], `jwt.${k}`));
  const tolerance = j.clockToleranceSeconds ?? 30;
  if (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance <= 3600))
    throw invalid('jwt.clockToleranceSeconds must be a number from 0 to 3600');
  return {
    algorithms: algorithms as JwtSettings['algorithms'],
    secretEnv: str('secretEnv'),
    publicKeyFile: str('publicKeyFile'),
    jwksFile: str('jwksFile'),
    issuer: str('issuer'),
    audience: str('audience'),
    principalClaim: str('principalClaim') ?? 'sub',
    rolesClaim: str('rolesClaim') ?? 'roles',
    clockToleranceSeconds: tolerance,
  };
}

function rate(value: unknown, where: string): { eventsPerSecond: number; burst: number } {
  const r = object(value, where);
  known(r, where, ['eventsPerSecond', 'burst']);
  const eps = r.eventsPerSecond;
  if (typeof eps !== 'number' || !(eps > 0)) throw invalid(`${where}.eventsPerSecond must be a number > 0`);
  const burst = r.burst ?? eps;
  if (typeof burst !== 'number' || !(burst >= 1)) throw invalid(`${where}.burst must be a number >= 1`);
  return { eventsPerSecond: eps, burst };
}

function object(value: unknown, where: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${where} must be an object`);
  return value as Obj;
}

function known(o: Obj, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k)) throw invalid(`${where} has an unknown key "${k}" (known: ${keys.join(', ')})`);
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${where} must be a non-empty string`);
  return value;
}

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of strings`);
  return value.map((v, i) => string(v, `${where}[${i}]`));
}

function invalid(message: string): TwinError {
  return new TwinError('TWIN_CONFIG_INVALID', `access file: ${message}`);
}
