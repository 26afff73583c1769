import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessControl, Credential } from '../../access/access-control.js';
import { GrantSet } from '../../access/path-grants.js';
import type { Principal } from '../../access/principal.js';
import type { Right } from '../../access/rights.js';
import { TwinError } from '../../errors.js';
import { credentialOf } from '../auth/credentials.js';
import { requireRight } from '../auth/forbidden.js';
import { peerCommonName } from '../tls/tls-options.js';
import { isDashboardFile } from '../dashboard/dashboard-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (the open principal on a node without access rules). */
    principal: Principal | null;
    /** The principal's grants, bound for this request. */
    grants: GrantSet;
    /** The access file names this caller in `metrics`: it may scrape `/metrics` without `admin`. */
    readsMetrics: boolean;
    /** What the caller presented, kept so a long-lived answer (`/signals`) can check it again on a reload. */
    credential: Credential;
    /** {@link AccessControl.generation} when the credential was checked: a reload since means a check again. */
    accessGeneration: number;
  }
}

/** Routes anyone may call: liveness and readiness probes, the API description. */
const PUBLIC = new Set(['/healthz', '/readyz', '/openapi.json']);

/**
 * Authenticates every HTTP request before its route runs: `Authorization: Bearer <token>`
 * (an API token or a JWT), else the client certificate the configured CA verified (HTTPS with
 * `--tls-client-certs`; the access file's `certificates.roles`), or nothing (the access
 * file's anonymous grants, if any; also when the file accepts no certificates). A bad or
 * missing credential is 401 with `WWW-Authenticate: Bearer`; routes then check their right
 * with {@link needRight}. Verified tokens are cached by AccessControl, so a request costs a
 * map lookup, not a hash or a signature check.
 *
 * @example
 * ```ts
 * installAccessHook(app, access); // on the root instance, before the routes
 * ```
 */
export function installAccessHook(app: FastifyInstance, access: AccessControl): void {
  // On the root instance itself (not a plugin, whose hooks fastify would scope to its own routes).
  // null, not a GrantSet: fastify refuses shared objects as request decorations; the hook sets it.
  app.decorateRequest('principal', null);
  app.decorateRequest('grants', null as unknown as GrantSet);
  app.decorateRequest('readsMetrics', true);
  app.decorateRequest('credential', null as never); // set by the hook on every request
  app.decorateRequest('accessGeneration', 0);
  if (!access.enabled) {
    app.addHook('onRequest', (req, _reply, done) => {
      req.grants = GrantSet.ALL;
      done();
    });
    return;
  }
  app.addHook('onRequest', async (req, reply) => {
    req.grants = GrantSet.NONE;
    req.readsMetrics = false;
    req.credential = { kind: 'none' };
    req.accessGeneration = access.generation;
    const route = req.url.split('?')[0]!;
    // The dashboard's static files too: the page holds no data, and asks for a token when the API answers 401.
    if (PUBLIC.has(route) || isDashboardFile(route)) return;
    try {
      const credential = credentialOf(req.headers, req.url, false, peerCommonName(req.raw.socket));
      if (route === '/metrics' && credential.kind === 'none' && access.readsMetrics(null)) {
        req.readsMetrics = true; // a scraper without credentials, allowed by the access file's "metrics"
        return;
      }
      req.credential = credential;
      const principal = await authenticateRequest(access, credential);
      req.principal = principal;
      req.grants = principal.grantsFor();
      req.readsMetrics = access.readsMetrics(principal);
    } catch (err) {
      void reply.header('www-authenticate', 'Bearer realm="twinflow"');
      throw err;
    }
  });
}

/**
 * The principal an HTTP request's credential proves now, by the one rule of {@link installAccessHook}:
 * a verified certificate the access file has no roles for is no credential (the caller is
 * anonymous), and an expired token is refused. Rejects with TWIN_UNAUTHENTICATED.
 *
 * @example
 * ```ts
 * const principal = await authenticateRequest(access, req.credential); // again, after a reload
 * ```
 */
export async function authenticateRequest(access: AccessControl, credential: Credential): Promise<Principal> {
  const principal = await access.authenticate(credential).catch((err: unknown) => {
    if (credential.kind !== 'certificate') throw err;
    return access.authenticate({ kind: 'none' });
  });
  if (principal.expired(Date.now())) throw new TwinError('TWIN_UNAUTHENTICATED', 'the token has expired');
  return principal;
}

/**
 * Refuses the request (403 TWIN_FORBIDDEN) unless its principal holds `right` on `path`.
 *
 * @example
 * ```ts
 * needRight(req, 'read', req.params['*']);
 * ```
 */
export function needRight(req: FastifyRequest, right: Right, path: string): void {
  requireRight(req.grants, right, path);
}

/** Refuses a `/metrics` scrape unless the caller is named in the access file's `metrics` or holds admin on every path. */
export function needMetrics(req: FastifyRequest): void {
  if (!req.readsMetrics) needAdmin(req);
}

/** Refuses the request unless its principal holds `admin` on every path: node-wide resources (metrics, dead letters, settle). */
export function needAdmin(req: FastifyRequest): void {
  requireRight(req.grants, 'admin', undefined);
}
