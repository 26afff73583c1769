/**
 * A twin space on a secured NATS server, as docs/cluster.md ("Securing NATS") sets one up:
 * TLS with the test CA (test/fixtures/tls), the nodes in an account of their own (one
 * logs in with a user and password, the other with an nkey), and an application in
 * another account. Two `twinflow serve --cluster` processes on the default worker threads
 * (each thread opens its own connection with the same credentials), `cluster status` with
 * the same flags, and nodes whose login or TLS check fails. Then a server in operator mode
 * (decentralized auth: JWTs signed as `nsc` signs them), where nodes log in with
 * credentials files.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, nkeys } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { readSpaceStatus } from '../../src/cluster/space-status.js';
import type { NatsAuth } from '../../src/cluster/nats-auth.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { natsOperator } from '../support/nats-jwt.js';
import { pollUntil } from '../support/poll.js';
import { serveProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/tls');
const CA = join(FIXTURES, 'ca.pem');
const NODE_PASSWORD = 'node pass, with spaces';
const nkey = nkeys.createUser();
const SEED = new TextDecoder().decode(nkey.getSeed());

/** TLS for every client; the space's nodes in account TWINS (JetStream), an application in APPS. */
const SECURED = `
tls { cert_file: "${join(FIXTURES, 'server.pem')}", key_file: "${join(FIXTURES, 'server-key.pem')}" }
accounts {
  TWINS: { jetstream: enabled, users: [ { user: node, password: "${NODE_PASSWORD}" }, { nkey: "${nkey.getPublicKey()}" } ] }
  APPS: { users: [ { user: app, password: "app-secret" } ] }
}
`;

const sensor = (b: number): string => `/org/s/site/x/building/${b}/floor/1/unit/u/room/1/sensors/climate`;

async function post(url: string, subject: string, temperature: number): Promise<void> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, data: { temperature, humidity: 40 } }),
  });
  expect(res.status).toBe(202);
}

async function temperatureAt(url: string, path: string): Promise<unknown> {
  const res = await fetch(`${url}/twins${path}`);
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { lanes: { latest?: { temperature?: number } | null } }).lanes.latest?.temperature;
}

function secretFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return file;
}

describe.skipIf(!hasNatsServer)(
  'a twin space on a secured NATS server (TLS, client certificates, accounts, users, nkeys, credentials files)',
  () => {
    it('nodes log in with a password or an nkey over TLS and share the space; status reads it; another account cannot reach it', async () => {
      const nats = await natsCluster(1, SECURED);
      const servers = nats.urls();
      const dir = tempDir('twinflow-nats-auth-');
      const passwordFile = secretFile(dir, 'password', NODE_PASSWORD);
      const seedFile = secretFile(dir, 'node.nk', SEED);
      const common = ['--port', '0', '--mqtt-port', '0', '--cluster', servers.join(','), '--cluster-vshards', '16'];
      const [a, b] = await Promise.all([
        serveProcess([
          ...common,
          '--node-id',
          'a',
          '--nats-user',
          'node',
          '--nats-password-file',
          passwordFile,
          '--nats-tls-ca',
          CA,
        ]),
        serveProcess([...common, '--node-id', 'b', '--nats-nkey-file', seedFile, '--nats-tls-ca', CA]),
      ]);
      const auth: NatsAuth = { user: 'node', password: NODE_PASSWORD, tls: { caFile: CA } };
      const settled = async (): Promise<void> => {
        await pollUntil(
          'both nodes live, every vshard owned',
          30_000,
          () => readSpaceStatus({ servers, auth }),
          (s) => s.nodes.length === 2 && s.unowned.length === 0 && s.nodes.every((n) => n.vshards.length > 0),
        );
      };
      await settled();

      // Readings into a, read from b (and the reverse below): twins on both nodes' vshards.
      for (let i = 0; i < 8; i++) await post(a.url, sensor(i), 20 + i);
      for (let i = 0; i < 8; i++)
        await pollUntil(
          `sensor ${i} through b`,
          20_000,
          () => temperatureAt(b.url, sensor(i)),
          (t) => t === 20 + i,
        );

      // An application of the other account: it logs in, but the space's subjects, buckets and
      // streams are not in its account. Its writes to the same subject names go nowhere near them.
      const app = await connect({ servers, user: 'app', pass: 'app-secret', tls: { caFile: CA } });
      for (let v = 0; v < 16; v++) app.publish(`twinflow.state.${v}`, new Uint8Array([0xc0]));
      app.publish('$KV.twinflow-leases.v.0', JSON.stringify({ node: 'ghost' }));
      await app.flush();
      const info = await app.request('$JS.API.STREAM.INFO.twinflow-state', undefined, { timeout: 2_000 });
      expect(info.json<{ error?: { description: string } }>().error?.description).toMatch(/not enabled for account/);
      await app.close();

      for (let i = 0; i < 8; i++) await post(b.url, sensor(i), 30 + i);
      for (let i = 0; i < 8; i++)
        await pollUntil(
          `sensor ${i} through a`,
          20_000,
          () => temperatureAt(a.url, sensor(i)),
          (t) => t === 30 + i,
        );
      await settled();
      // The other account's messages never reached the space: no node skipped one.
      expect([...a.log(), ...b.log()].join('\n')).not.toMatch(/no node wrote/);
    }, 120_000);

    it('a node whose login or TLS check fails stops at start and says why; so does status', async () => {
      const nats = await natsCluster(1, SECURED);
      const servers = nats.urls();
      const dir = tempDir('twinflow-nats-auth-');
      const common = ['--port', '0', '--mqtt-port', '0', '--cluster', servers.join(','), '--node-id', 'x'];
      const wrong = secretFile(dir, 'wrong', 'not the password');
      await expect(
        serveProcess([...common, '--nats-user', 'node', '--nats-password-file', wrong, '--nats-tls-ca', CA]),
      ).rejects.toThrow(/Authorization Violation.*--nats-user/s);
      // The server's certificate is issued by the test CA, which the system does not trust.
      await expect(
        serveProcess([...common, '--nats-user', 'node', '--nats-password-file', secretFile(dir, 'p', NODE_PASSWORD)]),
      ).rejects.toThrow(/certificate.*--nats-tls-ca/s);
      await expect(readSpaceStatus({ servers, auth: { tls: { caFile: CA } } })).rejects.toThrow(
        /Authorization Violation/,
      );
      // Credentials in a URL are refused before anything connects.
      const url = servers[0]!.replace('nats://', 'nats://node:secret@');
      await expect(serveProcess(['--port', '0', '--cluster', url])).rejects.toThrow(/URL holds credentials/);
    }, 90_000);

    it('nodes log in with credentials files on a server in operator mode; a user of an unknown account is refused', async () => {
      const operator = natsOperator();
      const nats = await natsCluster(1, operator.config);
      const servers = nats.urls();
      const dir = tempDir('twinflow-nats-creds-');
      const common = ['--port', '0', '--mqtt-port', '0', '--cluster', servers.join(','), '--cluster-vshards', '8'];
      const [a, b] = await Promise.all(
        ['a', 'b'].map((id) => serveProcess([...common, '--node-id', id, '--nats-creds', operator.userCreds(dir, id)])),
      );
      const auth: NatsAuth = { credsFile: operator.userCreds(dir, 'ops') };
      await pollUntil(
        'both nodes live, every vshard owned',
        30_000,
        () => readSpaceStatus({ servers, auth }),
        (st) => st.nodes.length === 2 && st.unowned.length === 0,
      );
      for (let i = 0; i < 6; i++) await post(a!.url, sensor(i), 40 + i);
      for (let i = 0; i < 6; i++)
        await pollUntil(
          `sensor ${i} through b`,
          20_000,
          () => temperatureAt(b!.url, sensor(i)),
          (t) => t === 40 + i,
        );
      await expect(
        serveProcess([...common, '--node-id', 'x', '--nats-creds', operator.strangerCreds(dir)]),
      ).rejects.toThrow(/Authorization Violation.*--nats-creds/s);
    }, 90_000);

    it('nodes present a client certificate to a server that verifies clients; one without is refused', async () => {
      const config = `tls { cert_file: "${join(FIXTURES, 'server.pem')}", key_file: "${join(FIXTURES, 'server-key.pem')}", ca_file: "${CA}", verify: true }`;
      const nats = await natsCluster(1, config);
      const servers = nats.urls();
      const common = ['--port', '0', '--mqtt-port', '0', '--cluster', servers.join(','), '--cluster-vshards', '4'];
      const cert = (name: string): string[] => [
        '--nats-tls-cert',
        join(FIXTURES, `${name}.pem`),
        '--nats-tls-key',
        join(FIXTURES, `${name}-key.pem`),
      ];
      const node = await serveProcess([...common, '--node-id', 'm', '--nats-tls-ca', CA, ...cert('client')]);
      const auth: NatsAuth = {
        tls: { caFile: CA, certFile: join(FIXTURES, 'client.pem'), keyFile: join(FIXTURES, 'client-key.pem') },
      };
      await pollUntil(
        'the node owns the space',
        30_000,
        () => readSpaceStatus({ servers, auth }),
        (st) => st.unowned.length === 0,
      );
      await post(node.url, sensor(1), 21);
      await pollUntil(
        'the reading applied',
        20_000,
        () => temperatureAt(node.url, sensor(1)),
        (t) => t === 21,
      );
      // Trusting the server is not enough: it wants a certificate of its CA from the client,
      // and drops one without after the handshake, so the client's connect times out (status
      // waits 5 s; a node 20 s, with the same message).
      await expect(readSpaceStatus({ servers, auth: { tls: { caFile: CA } } })).rejects.toThrow(
        /cannot connect to NATS.*client certificate/s,
      );
    }, 90_000);
  },
);
