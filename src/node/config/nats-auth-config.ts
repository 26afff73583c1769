import { accessSync, constants, readFileSync } from 'node:fs';
import type { NatsAuth, NatsTls } from '../../cluster/nats-auth.js';
import { envValue } from './flags.js';

/** `parseArgs` options of the NATS credential and TLS flags (`serve --cluster`, `cluster status`). */
export const NATS_AUTH_FLAGS = {
  'nats-user': { type: 'string' },
  'nats-password-file': { type: 'string' },
  'nats-token-file': { type: 'string' },
  'nats-nkey-file': { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-tls': { type: 'boolean' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
} as const;

export const NATS_AUTH_HELP = `
  NATS credentials and TLS (docs/cluster.md, "Securing NATS"); secrets come from files or the
  environment, never from a flag's value:
  --nats-user <name>                log in as this user; the password from --nats-password-file
                                    or env TWINFLOW_NATS_PASSWORD
  --nats-password-file <file>       the user's password (the file's first line)
  --nats-token-file <file>          log in with a token (or env TWINFLOW_NATS_TOKEN)
  --nats-nkey-file <file>           log in with a user nkey: the file holds its seed (SU…)
  --nats-creds <file>               log in with a credentials file (user JWT + seed, as nsc makes it;
                                    servers in operator mode); read again at every reconnect
  --nats-tls                        refuse servers that do not speak TLS (implied by the next three)
  --nats-tls-ca <pem file>          trust these CAs for the servers' certificates (default: the system's)
  --nats-tls-cert <pem file>        client certificate, for servers that verify clients (with --nats-tls-key)
  --nats-tls-key <pem file>         its private key
`;

/**
 * The NATS credentials the flags and environment give, or undefined for none. Files are
 * read here, so a missing one is an error naming its flag before anything connects;
 * TLS files are only checked for being readable (the client reads them at every connect,
 * so a renewed certificate is used from the next reconnect).
 */
export function natsAuthFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): NatsAuth | undefined {
  const flag = (name: keyof typeof NATS_AUTH_FLAGS): string | undefined => values[name] as string | undefined;
  const user = flag('nats-user');
  const passwordFile = flag('nats-password-file');
  const tokenFile = flag('nats-token-file');
  const nkeyFile = flag('nats-nkey-file');
  if (passwordFile !== undefined && user === undefined) throw new Error('--nats-password-file needs --nats-user');
  if (user === undefined && envValue(env, 'TWINFLOW_NATS_PASSWORD') !== undefined)
    throw new Error('TWINFLOW_NATS_PASSWORD needs --nats-user (a password alone logs in as nobody)');
  const password =
    passwordFile !== undefined
      ? firstLine('--nats-password-file', passwordFile)
      : envValue(env, 'TWINFLOW_NATS_PASSWORD');
  const token =
    tokenFile !== undefined ? firstLine('--nats-token-file', tokenFile) : envValue(env, 'TWINFLOW_NATS_TOKEN');
  const nkeySeed = nkeyFile === undefined ? undefined : firstLine('--nats-nkey-file', nkeyFile);
  const credsFile = flag('nats-creds');
  if (credsFile !== undefined) checkReadable('--nats-creds', credsFile);
  const tls: NatsTls = {
    ...readable('--nats-tls-ca', flag('nats-tls-ca'), 'caFile'),
    ...readable('--nats-tls-cert', flag('nats-tls-cert'), 'certFile'),
    ...readable('--nats-tls-key', flag('nats-tls-key'), 'keyFile'),
  };
  const wantTls = values['nats-tls'] === true || Object.keys(tls).length > 0;
  const auth: NatsAuth = {
    ...(user !== undefined && { user, password: password ?? '' }),
    ...(token !== undefined && { token }),
    ...(nkeySeed !== undefined && { nkeySeed }),
    ...(credsFile !== undefined && { credsFile }),
    ...(wantTls && { tls }),
  };
  return Object.keys(auth).length === 0 ? undefined : auth;
}

/** The names of the NATS flags given (a flag that needs `--cluster` is refused without it). */
export function natsFlagsGiven(values: Record<string, unknown>): string[] {
  return Object.keys(NATS_AUTH_FLAGS).filter((k) => values[k] !== undefined);
}

function firstLine(flag: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  // The line as it is (a password may hold spaces), without its line ending.
  const line = text.split(/\r?\n/, 1)[0]!;
  if (line.trim().length === 0) throw new Error(`${flag} ${file}: its first line is empty`);
  return line;
}

/** A file the client reads at every connect: checked now, so a missing one fails the start naming its flag. */
function checkReadable(flag: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

function readable<K extends keyof NatsTls>(flag: string, file: string | undefined, key: K): Partial<NatsTls> {
  if (file === undefined) return {};
  checkReadable(flag, file);
  return { [key]: file };
}
