import type { AccessControl, Credential } from '../../access/access-control.js';
import type { Principal } from '../../access/principal.js';
import { TwinError } from '../../errors.js';

/** How many more checks a connection gets while reloads keep landing inside its check. */
export const MAX_RECHECKS = 3;

/** The outcome of a credential check: the principal, or why it was refused. */
export type Verdict = { principal: Principal; error?: undefined } | { principal?: undefined; error: unknown };

/**
 * Authenticates a new connection's credential (a WARP upgrade, an MQTT CONNECT) under the
 * rules in force when the verdict arrives, and calls `decide` with it in the same turn, so
 * the connection can be registered before any other reload runs.
 *
 * A reload re-checks the open connections (AccessControl.onReload), but a connection whose
 * check is still awaiting (a password hash, a JWT's WebCrypto signature check) is not open
 * yet: its verdict comes from the rules it started with, and admitting it on that verdict
 * would keep a credential the reload revoked. So when {@link AccessControl.generation}
 * changed during the check, the credential is checked again (at most {@link MAX_RECHECKS}
 * times more; if reloads keep landing inside every check, it is refused, and the client
 * connects again).
 *
 * @example
 * ```ts
 * await authenticateCurrent(access, credential, (v) => (v.error ? refuse(v.error) : admit(v.principal)));
 * ```
 */
export async function authenticateCurrent<T>(
  access: AccessControl,
  credential: Credential,
  decide: (verdict: Verdict) => T,
): Promise<T> {
  for (let rechecks = 0; ; rechecks++) {
    const generation = access.generation;
    let verdict: Verdict;
    try {
      verdict = { principal: await access.authenticate(credential) };
    } catch (error) {
      verdict = { error };
    }
    // No await between this comparison and `decide`: a reload cannot run in between.
    if (access.generation === generation) return decide(verdict);
    if (rechecks === MAX_RECHECKS)
      return decide({
        error: new TwinError(
          'TWIN_UNAUTHENTICATED',
          `the access rules were reloaded during each of ${MAX_RECHECKS + 1} checks of the credentials; connect again`,
        ),
      });
  }
}
