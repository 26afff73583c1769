import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { TwinError } from '../errors.js';

/**
 * How a node (or `twinflow cluster status`) proves who it is to the NATS servers and
 * checks theirs. Every twin's state, input and every node-to-node message goes through
 * NATS, so a production space runs on servers that require both (docs/cluster.md,
 * "Securing NATS"). Plain data: it is handed to worker threads, which connect themselves.
 *
 * At most one way to authenticate: a user and password, a token, an nkey, or a
 * credentials file.
 */
export interface NatsAuth {
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** The seed of a user nkey (`SU…`): the server's authorization lists its public key (`U…`). */
  readonly nkeySeed?: string;
  /**
   * A credentials file (a user JWT and its nkey seed, as `nsc` writes them) for a server in
   * operator mode. Read at every connect, so a renewed file is used from the next reconnect.
   */
  readonly credsFile?: string;
  /**
   * TLS to the servers: trust `caFile` (else the system's CAs) for their certificates,
   * and present `certFile`/`keyFile` to servers that verify clients. Set, even empty
   * (`{}`), the client refuses a server that does not speak TLS.
   */
  readonly tls?: NatsTls;
}

export interface NatsTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

const encoder = new TextEncoder();

/** The nats.js connection options of `auth` (nothing for no auth). Checked by {@link checkNatsAuth} first. */
export function natsAuthOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  if (auth === undefined) return {};
  const out: Partial<ConnectionOptions> = {};
  if (auth.user !== undefined) Object.assign(out, { user: auth.user, pass: auth.password ?? '' });
  if (auth.token !== undefined) out.token = auth.token;
  if (auth.nkeySeed !== undefined) out.authenticator = nkeyAuthenticator(encoder.encode(auth.nkeySeed.trim()));
  const creds = auth.credsFile;
  if (creds !== undefined) out.authenticator = credsAuthenticator(() => readFileSync(creds));
  if (auth.tls !== undefined) out.tls = { ...auth.tls };
  return out;
}

/**
 * Refuses what cannot work, naming it (TWIN_CONFIG_INVALID): two ways to authenticate at
 * once, a password without a user, a certificate without its key, a seed that is no user
 * nkey, and credentials written into a server URL (nats.js ignores them there, so the
 * server would say only "Authorization Violation"; and a URL ends up in logs and `ps`).
 */
export function checkNatsAuth(auth: NatsAuth | undefined, servers: readonly string[]): void {
  const bad = (what: string): never => {
    throw new TwinError('TWIN_CONFIG_INVALID', `cluster: ${what}`);
  };
  for (const server of servers)
    if (/^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i.test(server))
      bad(
        'a NATS server URL holds credentials; give them as --nats-user, --nats-token-file, --nats-nkey-file or --nats-creds',
      );
  if (auth === undefined) return;
  const ways = [auth.user, auth.token, auth.nkeySeed, auth.credsFile].filter((w) => w !== undefined);
  if (ways.length > 1)
    bad('NATS authentication: give one of a user, a token, an nkey or a credentials file, not several');
  if (auth.password !== undefined && auth.user === undefined) bad('a NATS password needs a user');
  if (auth.user !== undefined && auth.user.length === 0) bad('the NATS user is empty');
  if (auth.token !== undefined && auth.token.trim().length === 0) bad('the NATS token is empty');
  if (auth.nkeySeed !== undefined && !/^SU[A-Z2-7]{56}$/.test(auth.nkeySeed.trim()))
    bad('the NATS nkey seed is not a user seed (58 characters starting "SU", as `nsc` or nk -gen user make)');
  const tls = auth.tls;
  if (tls !== undefined && (tls.certFile === undefined) !== (tls.keyFile === undefined))
    bad('a NATS client certificate and its key go together: give both or neither');
}

/** What a connection failure says, with the usual cause named (a refused login, a TLS mismatch). */
export function natsConnectError(servers: readonly string[], err: Error, auth?: NatsAuth): string {
  const message = err.message;
  const hint = /authorization|authentication/i.test(message)
    ? " (the servers refused this node's credentials: see --nats-user, --nats-token-file, --nats-nkey-file, --nats-creds)"
    : /tls|certificate|self.signed|ssl/i.test(message)
      ? ' (TLS: see --nats-tls-ca, --nats-tls-cert)'
      : // A server that verifies clients drops one without an acceptable certificate after the
        // handshake: the client only sees its connect time out.
        /timeout/i.test(message) && auth?.tls !== undefined
        ? ' (with TLS: does the server want a client certificate of its CA? see --nats-tls-cert)'
        : '';
  return `cannot connect to NATS at ${servers.join(', ')}: ${message}${hint}`;
}
