import type { AccessControl, Credential } from '../../access/access-control.js';
import { GrantSet } from '../../access/path-grants.js';
import type { Principal } from '../../access/principal.js';
import { authenticateCurrent } from '../auth/current-verdict.js';
import { forbidden, refusalOn } from '../auth/forbidden.js';
import type { TwinError } from '../../errors.js';

/** What a link was allowed under: its node, and for a wildcard the scopes it runs within. */
export interface LinkGrant {
  readonly node: string;
  readonly wildcard: boolean;
  /** The read scopes a wildcard link was made within (undefined: every path, or an exact link). */
  readonly scopes: readonly string[] | undefined;
}

/**
 * Who one WARP socket speaks for, and what that allows. The principal comes from the
 * upgrade (`Authorization: Bearer`, or `?token=` for browsers), from `@auth{token:"…"}`, or
 * is the access file's anonymous one (no grants if it has none). Links and commands are
 * checked here once when made; events then flow unchecked. When the principal changes
 * (`@auth`, `@deauth`, a reload of the access file, a JWT that expires) the session asks
 * {@link SessionAccess.stillAllowed} of every open link and closes those that are not.
 *
 * @example
 * ```ts
 * const access = new SessionAccess(control, principal);
 * access.linkError('/org/b/site/s1', false); // TWIN_FORBIDDEN unless granted read there
 * ```
 */
export class SessionAccess {
  private grants: GrantSet;
  private credential: Credential = { kind: 'none' };
  private expiry: ReturnType<typeof setTimeout> | undefined;
  /** Credential checks started (see {@link authenticate}). */
  private checks = 0;

  constructor(
    private readonly control: AccessControl,
    private principal: Principal | null,
    credential: Credential,
    /** Called when the principal's credential expires while the socket is open. */
    private readonly onExpired: () => void,
  ) {
    this.credential = credential;
    this.grants = principal?.grantsFor() ?? GrantSet.NONE;
    this.armExpiry();
  }

  /** True when access rules are configured (else everything is allowed, as before). */
  get enabled(): boolean {
    return this.control.enabled;
  }

  /** Who the socket speaks for now (null while unauthenticated); its `rate` bounds the socket's commands. */
  get current(): Principal | null {
    return this.principal;
  }

  /** The principal's name for logs (undefined while unauthenticated). */
  get who(): string | undefined {
    return this.principal?.name;
  }

  /** Why a link to `node` is refused, or undefined when the principal may read there. */
  linkError(node: string, wildcard: boolean): TwinError | undefined {
    if (!this.control.enabled) return undefined;
    if (!wildcard) return refusalOn(this.grants, 'read', node);
    return this.grants.allowsAnywhere('read') ? undefined : forbidden('read', node);
  }

  /** Why a command to `node` is refused, or undefined when allowed. */
  commandError(node: string): TwinError | undefined {
    return this.control.enabled ? refusalOn(this.grants, 'command', node) : undefined;
  }

  /** The scopes a wildcard link runs within (undefined: no restriction). */
  readScopes(): readonly string[] | undefined {
    return this.control.enabled ? this.grants.scopes('read') : undefined;
  }

  /** What a link made now is allowed under, to re-check it when the principal changes. */
  grantOf(node: string, wildcard: boolean): LinkGrant {
    return { node, wildcard, scopes: wildcard ? this.readScopes() : undefined };
  }

  /** True when a link made under `grant` is allowed as it is under the current principal. */
  stillAllowed(grant: LinkGrant): boolean {
    if (this.linkError(grant.node, grant.wildcard)) return false;
    // A wildcard link runs within the scopes it was made with: other scopes need a new link.
    return !grant.wildcard || sameScopes(this.readScopes(), grant.scopes);
  }

  /**
   * Authenticates `credential` for this socket. On failure the socket falls back to no
   * principal (no grants; the anonymous grants only come with no credential at all), as a
   * wrong token must not keep the rights of the one before it.
   */
  async authenticate(credential: Credential): Promise<TwinError | undefined> {
    this.credential = credential;
    // Checks can overlap (an `@auth` in flight when a reload re-checks the socket): only the
    // newest one's verdict is applied, and one a reload lands in is made again under the new
    // rules (authenticateCurrent), so an older verdict never replaces a newer one.
    const check = ++this.checks;
    return authenticateCurrent(this.control, credential, ({ principal, error }) => {
      if (check === this.checks) this.set(principal ?? null);
      return principal ? undefined : (error as TwinError);
    });
  }

  /** Authenticates the socket's credential again (after a reload); false when it no longer holds. */
  async recheck(): Promise<boolean> {
    return (await this.authenticate(this.credential)) === undefined;
  }

  close(): void {
    clearTimeout(this.expiry);
  }

  private set(principal: Principal | null): void {
    if (principal?.expired(Date.now())) principal = null;
    this.principal = principal;
    this.grants = principal?.grantsFor() ?? GrantSet.NONE;
    this.armExpiry();
  }

  private armExpiry(): void {
    clearTimeout(this.expiry);
    const at = this.principal?.expiresAt;
    if (at === undefined) return;
    // setTimeout holds at most ~24.8 days; a later expiry is re-armed when that fires.
    const wait = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.expiry = setTimeout(() => {
      if (this.principal?.expired(Date.now())) {
        this.set(null);
        this.onExpired();
      } else this.armExpiry();
    }, wait);
    this.expiry.unref();
  }
}

function sameScopes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((s, i) => s === b[i]));
}
