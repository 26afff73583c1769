import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { TwinError } from '../errors.js';
import type { Logger } from '../logger.js';
import { compileAccessFile, type AccessRules } from './access-file.js';
import { createJwtVerifier, looksLikeJwt, type JwtVerifier } from './jwt-verifier.js';
import type { GrantTemplate } from './path-grants.js';
import { Principal } from './principal.js';
import { hashToken, verifyPassword } from './secrets.js';

/** What a caller presented. */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  | { readonly kind: 'certificate'; readonly commonName: string };

/**
 * Longest bearer token (or token given as a password) accepted from any front: a JWT with many
 * claims fits, a flood does not. A longer one is refused (401) before it is hashed or verified.
 */
export const MAX_CREDENTIAL_LENGTH = 8192;

/** Most bearer tokens a {@link Loaded} remembers; the cache starts over when full. */
const TOKEN_CACHE_LIMIT = 10_000;
/** Changes of the access file closer together than this are read once. */
const RELOAD_DEBOUNCE_MS = 100;

/**
 * What one load of the access file decides with: a reload replaces it whole, token cache
 * included. A check reads it once, before its first await; one still running when a reload
 * lands (a JWT's signature is verified by WebCrypto, off the event loop) finishes against the
 * rules it started with and caches its verdict in their cache, which nobody reads any more: a
 * token or key the reload revoked is refused from the reload on, not when a cached verdict expires.
 */
interface Loaded {
  readonly rules: AccessRules;
  readonly jwt: JwtVerifier | undefined;
  /** Bearer tokens remembered with their principal, so HTTP pays the hash or JWT check once per token. */
  readonly tokens: Map<string, Principal>;
}

/**
 * Who may do what on this node: authenticates credentials into {@link Principal}s from the
 * access file, and reloads the file when it changes (or on {@link AccessControl.reload}),
 * telling the fronts so they re-check open connections: a revoked token's links close.
 * A node without an access file uses {@link AccessControl.open}: everyone may do everything,
 * which the node allows only on loopback addresses (see docs/security.md).
 *
 * @example
 * ```ts
 * const access = await AccessControl.fromFile('access.json', logger);
 * const p = await access.authenticate({ kind: 'bearer', token });
 * p.grantsFor().allows('read', '/org/a/site/s1');
 * ```
 */
export class AccessControl {
  private readonly listeners = new Set<() => void>();
  private watcher: FSWatcher | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private generationCount = 0;

  private constructor(
    /** The access file, or undefined for an open node. */
    readonly file: string | undefined,
    /** Undefined for an open node. */
    private loaded: Loaded | undefined,
    private readonly logger: Logger | undefined,
    private readonly now: () => number,
  ) {}

  /** No access rules: every caller is the open principal with every right. */
  static open(): AccessControl {
    return new AccessControl(undefined, undefined, undefined, Date.now);
  }

  /** Reads and checks the access file; throws TWIN_CONFIG_INVALID naming the mistake. */
  static async fromFile(file: string, logger?: Logger, now: () => number = Date.now): Promise<AccessControl> {
    const path = resolve(file);
    return new AccessControl(path, await readRules(path), logger, now);
  }

  /** True when access rules are configured (callers must authenticate). */
  get enabled(): boolean {
    return this.loaded !== undefined;
  }

  /** Counts reloads that changed the rules: a front compares it to skip re-checks. */
  get generation(): number {
    return this.generationCount;
  }

  /**
   * The principal a credential proves, or TWIN_UNAUTHENTICATED (401) without saying which
   * part was wrong (an unknown user and a wrong password look the same to the caller).
   */
  async authenticate(credential: Credential): Promise<Principal> {
    const loaded = this.loaded;
    if (!loaded) return Principal.open();
    const { rules } = loaded;
    switch (credential.kind) {
      case 'none':
        if (rules.anonymous) return new Principal('anonymous', 'anonymous', rules.anonymous);
        throw unauthenticated('credentials required');
      case 'bearer':
        return this.bearer(loaded, credential.token);
      case 'password': {
        const stored = rules.passwords.get(credential.username);
        if (stored !== undefined) {
          if (!(await verifyPassword(credential.password, stored))) throw unauthenticated('invalid credentials');
          return this.named(rules, credential.username, 'password');
        }
        // No password for this user name: the password may be a token (a device given an API token or a JWT).
        return this.bearer(loaded, credential.password);
      }
      case 'certificate': {
        if (!rules.certificateRoles) throw unauthenticated('client certificates are not accepted');
        const name = credential.commonName;
        const roles = rules.certificateRoles.flatMap((r) => rules.roles.get(r) ?? []);
        const own = rules.principals.get(name);
        return new Principal(name, 'certificate', [...roles, ...(own?.grants ?? [])], undefined, own?.rate);
      }
    }
  }

  /** True when `principal` may scrape `/metrics` by name (the access file's `metrics` list), admin right or not. */
  readsMetrics(principal: Principal | null): boolean {
    const rules = this.loaded?.rules;
    if (!rules) return true;
    return rules.metricsReaders.has(principal?.name ?? 'anonymous');
  }

  /** Calls `listener` after each reload that changed the rules; returns the unsubscribe. */
  onReload(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the access file again. A file that no longer checks keeps the rules in force (a
   * typo must not open or close the node) and throws; the caller logs it.
   */
  async reload(): Promise<void> {
    if (!this.file) return;
    this.loaded = await readRules(this.file);
    this.generationCount++;
    for (const l of [...this.listeners]) l();
  }

  /** Reloads whenever the access file changes (editors replace files, so the folder is watched). */
  watch(): void {
    if (!this.file || this.watcher) return;
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.pending);
      this.pending = setTimeout(() => this.reloadLogged('file changed'), RELOAD_DEBOUNCE_MS);
    });
    this.watcher.unref();
  }

  /** Reloads and logs the outcome (for the file watcher and SIGHUP). */
  reloadLogged(why: string): void {
    this.reload().then(
      () => this.logger?.info({ file: this.file, why }, 'access rules reloaded'),
      (err: unknown) =>
        this.logger?.error(
          { file: this.file, why, err },
          'access rules NOT reloaded: the file has an error; the rules in force stay',
        ),
    );
  }

  close(): void {
    clearTimeout(this.pending);
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
  }

  private async bearer({ rules, jwt, tokens }: Loaded, token: string): Promise<Principal> {
    if (token.length > MAX_CREDENTIAL_LENGTH)
      throw unauthenticated(`invalid token: longer than ${MAX_CREDENTIAL_LENGTH} characters`);
    const hit = tokens.get(token);
    if (hit && !hit.expired(this.now())) return hit;
    let principal: Principal;
    const owner = rules.tokens.get(hashToken(token));
    if (owner !== undefined) {
      principal = this.named(rules, owner, 'token');
    } else if (jwt && looksLikeJwt(token)) {
      const claims = await jwt(token).catch((err: unknown) => {
        throw unauthenticated(`invalid token: ${(err as Error).message}`);
      });
      const own = rules.principals.get(claims.name);
      const fromRoles = claims.roles.flatMap((r) => rules.roles.get(r) ?? []);
      principal = new Principal(
        claims.name,
        'jwt',
        [...(own?.grants ?? []), ...fromRoles],
        claims.expiresAt,
        own?.rate,
      );
    } else {
      throw unauthenticated('invalid token');
    }
    if (tokens.size >= TOKEN_CACHE_LIMIT) tokens.clear();
    tokens.set(token, principal);
    return principal;
  }

  private named(rules: AccessRules, name: string, source: 'token' | 'password'): Principal {
    const entry = rules.principals.get(name);
    const grants: readonly GrantTemplate[] = entry?.grants ?? [];
    return new Principal(name, source, grants, undefined, entry?.rate);
  }
}

async function readRules(file: string): Promise<Loaded> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new TwinError('TWIN_CONFIG_INVALID', `access file ${file}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  const rules = compileAccessFile(json);
  const jwt = rules.jwt ? await createJwtVerifier(rules.jwt, dirname(file)) : undefined;
  return { rules, jwt, tokens: new Map() };
}

function unauthenticated(message: string): TwinError {
  return new TwinError('TWIN_UNAUTHENTICATED', message);
}
