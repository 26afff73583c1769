/**
 * The NATS credential and TLS flags of `serve --cluster` (docs/cluster.md, "Securing NATS"):
 * what they turn into, and what they refuse before anything connects.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { resolveClusterOptions } from '../../src/cluster/cluster-options.js';
import { checkNatsAuth, natsAuthOptions } from '../../src/cluster/nats-auth.js';
import { parseServeConfig } from '../../src/node/config/serve-config.js';
import { tempDir } from '../support/tmp.js';

const CA = resolve(import.meta.dirname, '../fixtures/tls/ca.pem');
const CLUSTER = ['--cluster', 'nats://127.0.0.1:4222'];

function file(text: string): string {
  const f = join(tempDir('twinflow-nats-flags-'), 'secret');
  writeFileSync(f, text);
  return f;
}

describe('NATS credentials from flags and environment', () => {
  it('reads a password, token or nkey seed from its file (first line, as written); creds and TLS files by name', () => {
    const pw = parseServeConfig(
      [...CLUSTER, '--nats-user', 'node', '--nats-password-file', file(' p w \nignored\n')],
      {},
    );
    expect(pw.cluster!.auth).toEqual({ user: 'node', password: ' p w ' });
    const env = parseServeConfig([...CLUSTER, '--nats-user', 'node'], { TWINFLOW_NATS_PASSWORD: 'from-env' });
    expect(env.cluster!.auth).toEqual({ user: 'node', password: 'from-env' });
    const token = parseServeConfig(CLUSTER, { TWINFLOW_NATS_TOKEN: 't0k' });
    expect(token.cluster!.auth).toEqual({ token: 't0k' });
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const nk = parseServeConfig([...CLUSTER, '--nats-nkey-file', file(`${seed}\r\n`), '--nats-tls-ca', CA], {});
    expect(nk.cluster!.auth).toEqual({ nkeySeed: seed, tls: { caFile: CA } });
    expect(natsAuthOptions(nk.cluster!.auth).authenticator).toBeTypeOf('function');
    const creds = file('-----BEGIN NATS USER JWT-----\n…');
    expect(parseServeConfig([...CLUSTER, '--nats-creds', creds], {}).cluster!.auth).toEqual({ credsFile: creds });
    expect(parseServeConfig([...CLUSTER, '--nats-tls'], {}).cluster!.auth).toEqual({ tls: {} });
    expect(parseServeConfig(CLUSTER, {}).cluster!.auth).toBeUndefined();
    // Only with --cluster: the environment's secrets of a single node are not read.
    expect(parseServeConfig([], { TWINFLOW_NATS_TOKEN: 'x' }).cluster).toBeUndefined();
  });

  it('refuses what cannot work, naming the flag', () => {
    const parse = (args: string[], env: NodeJS.ProcessEnv = {}): unknown => parseServeConfig(args, env);
    expect(() => parse(['--nats-user', 'n'])).toThrow(/--nats-user needs --cluster/);
    expect(() => parse([...CLUSTER, '--nats-password-file', file('x')])).toThrow(/needs --nats-user/);
    expect(() => parse(CLUSTER, { TWINFLOW_NATS_PASSWORD: 'pw' })).toThrow(/TWINFLOW_NATS_PASSWORD needs --nats-user/);
    expect(() => parse([...CLUSTER, '--nats-token-file', '/nonexistent/t'])).toThrow(
      /--nats-token-file \/nonexistent\/t: ENOENT/,
    );
    expect(() => parse([...CLUSTER, '--nats-token-file', file('\nsecond line')])).toThrow(/first line is empty/);
    expect(() => parse([...CLUSTER, '--nats-tls-ca', '/nonexistent/ca.pem'])).toThrow(/--nats-tls-ca .*ENOENT/);
    expect(() => parse([...CLUSTER, '--nats-tls-cert', CA])).toThrow(/certificate and its key go together/);
    expect(() => parse([...CLUSTER, '--nats-creds', '/nonexistent/n.creds'])).toThrow(/--nats-creds .*ENOENT/);
    expect(() => parse([...CLUSTER, '--nats-creds', CA, '--nats-user', 'n'])).toThrow(/not several/);
    expect(() => parse([...CLUSTER, '--nats-user', 'n'], { TWINFLOW_NATS_TOKEN: 't' })).toThrow(/not several/);
    expect(() => parse([...CLUSTER, '--nats-nkey-file', file('SAAB…not a user seed')])).toThrow(/not a user seed/);
  });

  it('refuses credentials written into a server URL (nats.js would ignore them; logs and ps would show them)', () => {
    expect(() => resolveClusterOptions({ servers: ['nats://u:p@127.0.0.1:4222'] })).toThrow(/URL holds credentials/);
    expect(() => resolveClusterOptions({ servers: ['tls://token@host:4222'] })).toThrow(/URL holds credentials/);
    expect(() => resolveClusterOptions({ servers: ['u:p@127.0.0.1:4222'] })).toThrow(/URL holds credentials/);
    expect(() => checkNatsAuth(undefined, ['nats://127.0.0.1:4222', 'host:4222'])).not.toThrow();
  });
});
