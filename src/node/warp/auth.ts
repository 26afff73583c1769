/**
 * The authentication hook of the WARP front. `@auth` stores the credentials its body
 * carries on the socket (and is answered `@authed`); `@deauth` forgets them (`@deauthed`).
 * Every link, sync and command then asks the authorizer, with those credentials, whether
 * it may proceed. Real tokens and ACLs plug in here later; the default allows everything.
 */

/**
 * What the authorizer decides about.
 *
 * @example
 * ```ts
 * const req: AuthRequest = { action: 'link', node: '/org/contoso', lane: 'alarm', credentials: { token: 't' } };
 * ```
 */
export interface AuthRequest {
  /** `link` covers `@link` and `@sync`. */
  readonly action: 'link' | 'command';
  /** The node as the client wrote it (a path, or a wildcard filter for links). */
  readonly node: string;
  readonly lane: string;
  /** The body of the socket's last `@auth` as plain JS (`undefined` before any `@auth` or after `@deauth`). */
  readonly credentials: unknown;
  /** The peer address of the socket, for logs and allow-lists. */
  readonly remoteAddress: string | undefined;
}

/**
 * Decides per link and per command. Return (or resolve) `true` to allow; `false`, a
 * rejection or a throw denies with `@unlinked(...)@forbidden`. Keep it fast: it runs on
 * the I/O thread for every `@link`, `@sync` and `@command`.
 *
 * @example
 * ```ts
 * const onlyAlarm: WarpAuthorizer = (req) => req.lane === 'alarm' || (req.credentials as { admin?: boolean })?.admin === true;
 * await startNode({ models, warp: { authorize: onlyAlarm } });
 * ```
 */
export type WarpAuthorizer = (request: AuthRequest) => boolean | Promise<boolean>;

/**
 * The default authorizer: every request is allowed.
 *
 * @example
 * ```ts
 * allowAll({ action: 'command', node: '/a', lane: 'b', credentials: undefined, remoteAddress: undefined }); // true
 * ```
 */
export const allowAll: WarpAuthorizer = () => true;
