import type { IncomingHttpHeaders } from 'node:http';
import type { Credential } from '../../access/access-control.js';

/**
 * Longest credential accepted from any front: a JWT with many claims fits, a flood does not.
 * Tokens are passed on whole (the header, URL and message limits bound them) and
 * AccessControl.authenticate refuses a longer one with 401 saying so: cutting it would only
 * turn it into a token that does not verify, with no reason given.
 */
export { MAX_CREDENTIAL_LENGTH } from '../../access/access-control.js';

/**
 * The credential of an HTTP request or WebSocket upgrade: `Authorization: Bearer <token>`,
 * else (upgrades only, for browsers, which cannot set headers on a WebSocket) the `token`
 * query parameter; else the verified client certificate's common name (`certificateName`, see
 * peerCommonName); none gives `{ kind: 'none' }`. Anything else in Authorization is a bearer
 * token that will not verify, so a malformed header is refused rather than read as anonymous.
 * A token wins over a certificate: the connection's device may act for a user who signed in.
 *
 * @example
 * ```ts
 * credentialOf({ authorization: 'Bearer tf_abc' }, '/'); // { kind: 'bearer', token: 'tf_abc' }
 * ```
 */
export function credentialOf(
  headers: IncomingHttpHeaders,
  url: string | undefined,
  queryToken = false,
  certificateName?: string,
): Credential {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    return { kind: 'bearer', token: m?.[1] ?? auth };
  }
  if (queryToken && url !== undefined) {
    const q = url.indexOf('?');
    const token = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('token');
    if (token !== null) return { kind: 'bearer', token };
  }
  if (certificateName !== undefined) return { kind: 'certificate', commonName: certificateName };
  return { kind: 'none' };
}

/**
 * The credential in a WARP `@auth` body: `{token: "…"}` (Recon `@auth{token:"…"}` or JSON),
 * or the token as a bare string.
 */
export function credentialOfAuthBody(body: unknown): Credential {
  if (typeof body === 'string') return { kind: 'bearer', token: body };
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const token = (body as { token?: unknown }).token;
    if (typeof token === 'string') return { kind: 'bearer', token };
  }
  return { kind: 'none' };
}
