import { GrantSet, type GrantTemplate, type GrantVariable } from './path-grants.js';

/** How a principal proved who it is. */
export type PrincipalSource = 'open' | 'anonymous' | 'token' | 'jwt' | 'password' | 'certificate';

/**
 * Who is asking: a name, how it was proven, and its grants (templates, bound per connection
 * by {@link Principal.grantsFor}). One object per authentication; fronts keep it per
 * connection (WARP socket, MQTT client) or cache it by token (HTTP).
 *
 * @example
 * ```ts
 * const app = await access.authenticate({ kind: 'bearer', token });
 * app.grantsFor({}).allows('read', '/org/a/site/s1');
 * ```
 */
export class Principal {
  private unbound: GrantSet | undefined;

  constructor(
    readonly name: string,
    readonly source: PrincipalSource,
    private readonly templates: readonly GrantTemplate[],
    /** When the credential stops being valid (a JWT's `exp`, ms since the epoch). */
    readonly expiresAt: number | undefined = undefined,
    readonly rate: { readonly eventsPerSecond: number; readonly burst: number } | undefined = undefined,
    /** Every right everywhere (a node without access rules). */
    private readonly all = false,
  ) {}

  /** The principal of a node without access rules: allowed everything, as before auth existed. */
  static open(): Principal {
    return new Principal('anonymous', 'open', [], undefined, undefined, true);
  }

  /**
   * The grants bound for one connection: `{principal}` is this principal's name, `{clientId}`
   * the MQTT client id (absent on HTTP and WARP, so grants naming it give nothing there).
   */
  grantsFor(vars: { clientId?: string } = {}): GrantSet {
    if (this.all) return GrantSet.ALL;
    const bind: Partial<Record<GrantVariable, string>> = { principal: this.name, clientId: vars.clientId };
    if (vars.clientId === undefined) return (this.unbound ??= GrantSet.bind(this.templates, bind));
    return GrantSet.bind(this.templates, bind);
  }

  /** True when the credential has expired at `now` (ms). */
  expired(now: number): boolean {
    return this.expiresAt !== undefined && now >= this.expiresAt;
  }
}
