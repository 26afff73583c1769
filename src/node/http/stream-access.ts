import type { AccessControl, Credential } from '../../access/access-control.js';
import type { GrantSet } from '../../access/path-grants.js';
import type { Principal } from '../../access/principal.js';
import { authenticateRequest } from './access-hook.js';

/**
 * Keeps the grants of a long-lived HTTP answer (the `GET /signals` stream) as current as a
 * WARP socket's or an MQTT connection's: an ordinary request is checked once and is over in
 * milliseconds, but a stream checked once at its start went on sending to a token the access
 * file had since revoked, and to a JWT past its `exp`, for as long as the socket stayed open.
 *
 * On every reload of the access file the request's credential is authenticated again by the
 * same rule as a new request (authenticateRequest): still valid, the stream goes on under the
 * new grants (`onGrants`); refused, `onRevoked` ends it. A principal with an expiry (a JWT)
 * ends the stream when it expires. A reload that landed while the request itself was being
 * authenticated (its generation moved since) is caught up at once, as the WARP and MQTT
 * fronts do for a connection (authenticateCurrent). Only the newest check's verdict counts.
 *
 * @example
 * ```ts
 * const held = new StreamAccess(access, req.credential, req.accessGeneration, req.principal, {
 *   onGrants: (g) => (grants = g),
 *   onRevoked: () => out.destroy(),
 * });
 * out.once('close', () => held.close());
 * ```
 */
export class StreamAccess {
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private checks = 0;
  private closed = false;
  private readonly stopReload: () => void;

  constructor(
    private readonly access: AccessControl,
    private readonly credential: Credential,
    generation: number,
    principal: Principal | null,
    private readonly on: { onGrants(grants: GrantSet): void; onRevoked(why: string): void },
  ) {
    this.stopReload = access.enabled ? access.onReload(() => void this.recheck()) : () => undefined;
    if (!access.enabled) return;
    this.arm(principal);
    if (access.generation !== generation) void this.recheck();
  }

  /** Stops watching (the stream ended). */
  close(): void {
    this.closed = true;
    clearTimeout(this.expiry);
    this.stopReload();
  }

  private async recheck(): Promise<void> {
    const check = ++this.checks;
    let principal: Principal | undefined;
    let why = '';
    try {
      principal = await authenticateRequest(this.access, this.credential);
    } catch (err) {
      why = (err as Error).message;
    }
    // A newer check (another reload) decides; a stream closed meanwhile needs nothing.
    if (this.closed || check !== this.checks) return;
    if (!principal) return this.revoke(`the access rules were reloaded: ${why}`);
    this.arm(principal);
    this.on.onGrants(principal.grantsFor());
  }

  /** Ends the stream when the principal's credential expires (setTimeout holds ~24.8 days at most; re-armed past that). */
  private arm(principal: Principal | null): void {
    clearTimeout(this.expiry);
    const at = principal?.expiresAt;
    if (at === undefined) return;
    this.expiry = setTimeout(
      () => (principal!.expired(Date.now()) ? this.revoke('the token has expired') : this.arm(principal)),
      Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1),
    );
    this.expiry.unref();
  }

  private revoke(why: string): void {
    if (this.closed) return;
    this.close();
    this.on.onRevoked(why);
  }
}
