/**
 * NATS decentralized auth for tests, as `nsc` would set it up: an operator, a system
 * account, an account of the twin space's own (JetStream on) and users with credentials
 * files (user JWT + nkey seed). JWTs are signed here with the nkeys the NATS client ships;
 * the server runs in operator mode with a memory resolver holding the accounts.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const encoder = new TextEncoder();
const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');
const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

/** A JWT of `claims`, issued and signed by `issuer` (header `ed25519-nkey`, as NATS reads them). */
function signed(issuer: KeyPair, claims: Record<string, unknown>): string {
  const header = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body: Record<string, unknown> = { ...claims, iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey() };
  body.jti = createHash('sha256').update(JSON.stringify(body)).digest('hex').toUpperCase();
  const payload = b64(JSON.stringify(body));
  return `${header}.${payload}.${b64(issuer.sign(encoder.encode(`${header}.${payload}`)))}`;
}

export interface Operator {
  /** Lines for the server's configuration (operator, system account, resolver with the accounts). */
  readonly config: string;
  /** Writes a credentials file for a new user of the space's account; returns its path. */
  userCreds(dir: string, name: string): string;
  /** A credentials file for a user signed by an account the server does not know. */
  strangerCreds(dir: string): string;
}

export function natsOperator(): Operator {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const space = nkeys.createAccount();
  const account = (kp: KeyPair, name: string, limits: object): string =>
    signed(operator, { sub: kp.getPublicKey(), name, nats: { limits, type: 'account', version: 2 } });
  const jetstream = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accounts = {
    [system.getPublicKey()]: account(system, 'SYS', UNLIMITED),
    [space.getPublicKey()]: account(space, 'TWINS', { ...UNLIMITED, ...jetstream }),
  };
  const operatorJwt = signed(operator, {
    sub: operator.getPublicKey(),
    name: 'twinflow-tests',
    nats: { type: 'operator', version: 2 },
  });
  const creds = (signer: KeyPair, dir: string, name: string): string => {
    const user = nkeys.createUser();
    const jwt = signed(signer, {
      sub: user.getPublicKey(),
      name,
      nats: { pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: 'user', version: 2 },
    });
    const seed = new TextDecoder().decode(user.getSeed());
    const file = join(dir, `${name}.creds`);
    writeFileSync(
      file,
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
      { mode: 0o600 },
    );
    return file;
  };
  return {
    config: [
      `operator: "${operatorJwt}"`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${Object.entries(accounts)
        .map(([k, v]) => `${k}: "${v}"`)
        .join(', ')} }`,
    ].join('\n'),
    userCreds: (dir, name) => creds(space, dir, name),
    strangerCreds: (dir) => creds(nkeys.createAccount(), dir, 'stranger'),
  };
}
