/**
 * Issue 15, TLS: HTTPS/WSS on the main port, MQTTS on the embedded broker, client
 * certificates as principals, certificate reload on SIGHUP, and the admin listener. Real
 * sockets on 127.0.0.1 port 0, the default 2 worker threads, the certificates of
 * test/fixtures/tls (scripts/gen-test-certs.sh).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModelSource } from '../../models/index.js';
import { WarpClient } from '../../src/client/index.js';
import type { TlsOptions } from '../../src/index.js';
import { closeClients, mqttClient, waitFor } from '../support/mqtt.js';
import { parseServeConfig, serveHelp } from '../../src/node/config/serve-config.js';
import { serveProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';
import { rawClient, warpNode } from '../support/warp.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/tls');
const pem = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const CA = pem('ca.pem');
const SERVER: TlsOptions = { cert: pem('server.pem'), key: pem('server-key.pem') };
/** A PEM block that is no certificate. */
const BROKEN_PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
/** The client certificate of device-7, issued by the test CA. */
const DEVICE = { cert: pem('client.pem'), key: pem('client-key.pem') };
/** CN=device-7 too, but from a CA the node does not trust. */
const ROGUE = { cert: pem('rogue-client.pem'), key: pem('rogue-client-key.pem') };

const room = (org: string): string => `/org/${org}/site/s1/building/b1/floor/1/unit/u1/room/4`;
const SENSOR_A = `${room('a')}/sensors/climate`;
const SENSOR_B = `${room('b')}/sensors/climate`;
const reading = (subject: string, temperature: number, id: string): string =>
  JSON.stringify({ subject, id, source: 'test', data: { temperature, humidity: 40, co2: 500 } });

afterEach(async () => {
  await closeClients();
});

interface Answer {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
}

/** One HTTPS request with the test CA (and a client certificate if given). */
function https(url: string, options: RequestOptions & { body?: string } = {}): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = request(url, { ca: CA, agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolveAnswer({
          status: res.statusCode ?? 0,
          body,
          fingerprint: (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256,
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const post = (url: string, body: string, extra: RequestOptions = {}): Promise<Answer> =>
  https(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...extra });

/** The fingerprint of the certificate a new TLS connection to `port` is shown. */
function presented(port: number): Promise<string> {
  return new Promise((resolveFp, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: CA, servername: 'localhost' }, () => {
      resolveFp(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

const portOf = (url: string): number => Number(new URL(url).port);
const temperature = (a: Answer): number | undefined =>
  (JSON.parse(a.body) as { lanes: { latest: { temperature: number } | null } }).lanes.latest?.temperature;

describe('TLS on the main port and the embedded broker (2 workers)', () => {
  it('serves HTTPS, WSS and MQTTS only, says so in its URLs, and survives plain-text clients', async () => {
    const n = await warpNode({ tls: SERVER, workers: 2, modelSource: buildingModelSource(), mqtt: { port: 0 } });
    expect(n.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(n.warpUrl).toBe(`wss://127.0.0.1:${portOf(n.url)}/`);
    expect(n.ingestion.mqtt!.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);

    // HTTPS: POST /events and GET the twin.
    expect((await post(`${n.url}/events`, reading(SENSOR_A, 21, 'h1'))).status).toBe(202);
    const got = await https(`${n.url}/twins${SENSOR_A}`);
    expect(got.status).toBe(200);
    expect(temperature(got)).toBe(21);
    expect(got.fingerprint).toBe(new X509Certificate(SERVER.cert).fingerprint256);

    // A plain-HTTP client on the HTTPS port gets no answer, and nothing breaks.
    await expect(fetch(`http://127.0.0.1:${portOf(n.url)}/healthz`)).rejects.toThrow();
    // A plain-TCP MQTT CONNECT on the MQTTS port: the socket is closed without a CONNACK.
    const mqttPort = portOf(n.ingestion.mqtt!.url.replace('mqtts:', 'https:'));
    const plain = await new Promise<{ closed: boolean; first: number | undefined }>((resolvePlain) => {
      let first: number | undefined;
      const s = netConnect(mqttPort, '127.0.0.1', () =>
        s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'plain' })),
      );
      s.on('data', (d: Buffer) => (first ??= d[0]));
      s.on('error', () => undefined);
      s.on('close', () => resolvePlain({ closed: true, first }));
      setTimeout(() => resolvePlain({ closed: false, first }), 5000);
    });
    expect(plain.closed).toBe(true);
    // What came back (if anything) is a TLS alert record (0x15), never a CONNACK (0x20).
    expect([undefined, 0x15]).toContain(plain.first);
    // A client that does not trust the server's CA is refused by its own side.
    await expect(https(`${n.url}/healthz`, { ca: undefined })).rejects.toThrow(/self[- ]signed|unable to verify/i);
    expect((await https(`${n.url}/healthz`)).status).toBe(200);

    // MQTTS with mqtt.js, 3.1.1 and 5: the readings reach the twin.
    const data = (t: number): string => JSON.stringify({ temperature: t, humidity: 40, co2: 500 });
    const v4 = await mqttClient(n.ingestion.mqtt!.url, { ca: CA, protocolVersion: 4 });
    await v4.publishAsync(SENSOR_A.slice(1), data(22), { qos: 1 });
    await waitFor(async () => temperature(await https(`${n.url}/twins${SENSOR_A}`)) === 22);
    const v5 = await mqttClient(n.ingestion.mqtt!.url, { ca: CA, protocolVersion: 5 });
    const ack = (await v5.publishAsync(SENSOR_A.slice(1), data(23), { qos: 1 })) as { reasonCode?: number } | undefined;
    expect(ack?.reasonCode ?? 0).toBe(0);
    await waitFor(async () => temperature(await https(`${n.url}/twins${SENSOR_A}`)) === 23);

    // A WARP link over WSS with the project's client and the test CA.
    const client = new WarpClient({
      url: n.warpUrl,
      WebSocket,
      webSocketOptions: { ca: CA },
      reconnect: false,
    });
    try {
      const latest = client.sync<{ temperature: number }>(SENSOR_A, 'latest');
      for await (const { event } of latest) if (event.type === 'value' && event.value?.temperature === 23) break;
    } finally {
      client.close();
    }
    expect(n.rejections.counts().get('http.tls_error') ?? 0).toBeGreaterThanOrEqual(1);
    expect(n.rejections.counts().get('mqtt.tls_error') ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('an expired server certificate is refused by clients', async () => {
    const n = await warpNode({ tls: { cert: pem('expired-server.pem'), key: pem('expired-server-key.pem') } });
    await expect(https(`${n.url}/healthz`)).rejects.toMatchObject({ code: 'CERT_HAS_EXPIRED' });
  });

  it('refuses at start naming the tls field and why: a key that is not the certificate’s, PEM that does not parse, client certificates without a CA', async () => {
    const refused = (tls: TlsOptions, message: RegExp) =>
      expect(warpNode({ tls })).rejects.toMatchObject({
        code: 'TWIN_CONFIG_INVALID',
        message: expect.stringMatching(message),
      });
    await refused(
      { cert: SERVER.cert, key: pem('server2-key.pem') },
      /^tls\.key: not the key of the tls\.cert certificate$/,
    );
    // The parser's reason follows (here OpenSSL's), PEM given as bytes or as text.
    await refused({ ...SERVER, key: 'garbage\n' }, /^tls\.key: not a usable PEM private key: \S/);
    await refused({ ...SERVER, cert: Buffer.from('garbage\n') }, /^tls\.cert: no PEM certificate/);
    await refused(
      { ...SERVER, cert: `${SERVER.cert.toString()}${BROKEN_PEM}` },
      /^tls\.cert: certificate 2 unusable: \S/,
    );
    await refused(
      { ...SERVER, ca: Buffer.concat([CA, Buffer.from(BROKEN_PEM)]), clientCerts: 'require' },
      /^tls\.ca: certificate 2 unusable: \S/,
    );
    await expect(warpNode({ tls: { ...SERVER, clientCerts: 'require' } })).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
      message: expect.stringMatching(/needs tls\.ca/),
    });
  });
});

describe('client certificates map to principals (2 workers)', () => {
  /**
   * Certificates verified by the CA get the `reader` role (read on /org/a/**); the CN
   * device-7 is also a principal of its own with `ingest` on its sensor: a request that
   * may ingest there proves the CN reached the access rules.
   */
  async function certNode(clientCerts: 'request' | 'require') {
    const file = join(tempDir(), 'access.json');
    writeFileSync(
      file,
      JSON.stringify({
        roles: { reader: [{ paths: ['/org/**'], rights: ['read'] }] },
        certificates: { roles: ['reader'] },
        principals: {
          'device-7': { grants: [{ paths: [SENSOR_A], rights: ['ingest'] }] },
          operator: { password: (await import('../../src/access/secrets.js')).hashPassword('op') },
        },
      }),
    );
    return warpNode({
      access: file,
      tls: { ...SERVER, ca: CA, clientCerts },
      workers: 2,
      modelSource: buildingModelSource(),
      mqtt: { port: 0 },
    });
  }

  it('require: refused without a certificate or with an untrusted one; device-7 ingests its own sensor only', async () => {
    const n = await certNode('require');
    await expect(https(`${n.url}/twins${SENSOR_A}`)).rejects.toThrow();
    await expect(https(`${n.url}/twins${SENSOR_A}`, ROGUE)).rejects.toThrow();
    await expect(mqttClient(n.ingestion.mqtt!.url, { ca: CA, connectTimeout: 2000 })).rejects.toThrow();

    // HTTP: the CN is the principal.
    expect((await post(`${n.url}/events`, reading(SENSOR_A, 24, 'c1'), DEVICE)).status).toBe(202);
    const elsewhere = await post(`${n.url}/events`, reading(SENSOR_B, 99, 'c2'), DEVICE);
    expect(elsewhere.status).toBe(403);
    const read = await https(`${n.url}/twins${SENSOR_A}`, DEVICE);
    expect(temperature(read)).toBe(24);
    // Admin routes need admin: a certificate does not get it.
    expect((await https(`${n.url}/metrics`, DEVICE)).status).toBe(403);

    // MQTT 5 and 3.1.1: a CONNECT without user name and password is the certificate's CN.
    const data = (t: number): string => JSON.stringify({ temperature: t, humidity: 40, co2: 500 });
    const v5 = await mqttClient(n.ingestion.mqtt!.url, { ca: CA, ...DEVICE, protocolVersion: 5 });
    const ok = (await v5.publishAsync(SENSOR_A.slice(1), data(25), { qos: 1 })) as { reasonCode?: number } | undefined;
    expect(ok?.reasonCode ?? 0).toBe(0);
    const refused = await v5.publishAsync(SENSOR_B.slice(1), data(98), { qos: 1 }).catch((e: unknown) => e);
    expect((refused as { reasonCode?: number; code?: number }).reasonCode ?? (refused as { code?: number }).code).toBe(
      0x87,
    );
    const v4 = await mqttClient(n.ingestion.mqtt!.url, { ca: CA, ...DEVICE, protocolVersion: 4 });
    await v4.publishAsync(SENSOR_A.slice(1), data(26), { qos: 1 });
    await waitFor(async () => temperature(await https(`${n.url}/twins${SENSOR_A}`, DEVICE)) === 26);
    // A user name and password still win over the certificate.
    await expect(
      mqttClient(n.ingestion.mqtt!.url, { ca: CA, ...DEVICE, username: 'operator', password: 'wrong' }),
    ).rejects.toThrow(/Bad username or password|bad user name/i);
    const b = await https(`${n.url}/twins${SENSOR_B}`, DEVICE);
    expect(b.status === 404 || temperature(b) === undefined).toBe(true); // neither 99 nor 98 arrived

    // WARP over WSS: the upgrade without a token is the certificate's principal (it may read).
    const c = await rawClient(n.warpUrl, undefined, { ca: CA, ...DEVICE });
    c.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await c.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(c.messages.some((x) => x.startsWith('@unlinked'))).toBe(false);
  });

  it('request: without a certificate (or with an untrusted one) the caller is anonymous; with one it is device-7', async () => {
    const n = await certNode('request');
    expect((await https(`${n.url}/twins${SENSOR_A}`)).status).toBe(401);
    expect((await https(`${n.url}/twins${SENSOR_A}`, ROGUE)).status).toBe(401);
    expect((await post(`${n.url}/events`, reading(SENSOR_A, 27, 'r1'), DEVICE)).status).toBe(202);
    await expect(
      mqttClient(n.ingestion.mqtt!.url, { ca: CA, ...ROGUE, protocolVersion: 5, connectTimeout: 2000 }),
    ).rejects.toThrow(/Bad User Name or Password|bad user name/i);
    // The WARP upgrade without a certificate opens without grants: the link is forbidden.
    const anon = await rawClient(n.warpUrl, undefined, { ca: CA });
    anon.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await anon.until((m) => m.some((x) => x.startsWith('@unlinked')));
    // With device-7's certificate the same link is allowed (read through certificates.roles).
    const device = await rawClient(n.warpUrl, undefined, { ca: CA, ...DEVICE });
    device.send(`@sync(node:"${SENSOR_A}",lane:latest)`);
    await device.until((m) => m.some((x) => x.startsWith('@synced')));
    expect(device.messages.some((x) => x.startsWith('@unlinked'))).toBe(false);
  });
});

describe('certificate reload and the admin listener', () => {
  it('twinflow serve re-reads --tls-cert/--tls-key on SIGHUP: new connections get the new certificate', async () => {
    const dir = tempDir();
    const cert = join(dir, 'cert.pem'),
      key = join(dir, 'key.pem');
    copyFileSync(join(FIXTURES, 'server.pem'), cert);
    copyFileSync(join(FIXTURES, 'server-key.pem'), key);
    const serve = await serveProcess([
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--memory',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    expect(serve.url).toMatch(/^https:/);
    const line = JSON.parse(serve.log().find((l) => l.includes('twinflow is serving'))!) as Record<string, string>;
    expect(line.warp).toMatch(/^wss:/);
    expect(line.mqtt).toMatch(/^mqtts:/);
    const old = new X509Certificate(pem('server.pem')).fingerprint256;
    const renewed = new X509Certificate(pem('server2.pem')).fingerprint256;
    const httpPort = portOf(serve.url),
      mqttPort = portOf(line.mqtt!.replace('mqtts:', 'https:'));
    expect(await presented(httpPort)).toBe(old);
    expect(await presented(mqttPort)).toBe(old);

    // A renewal: both files replaced, then SIGHUP.
    copyFileSync(join(FIXTURES, 'server2.pem'), cert);
    copyFileSync(join(FIXTURES, 'server2-key.pem'), key);
    serve.child.kill('SIGHUP');
    await waitFor(async () => (await presented(httpPort)) === renewed, 10_000, 'the renewed certificate on HTTPS');
    expect(await presented(mqttPort)).toBe(renewed);
    expect((await https(`${serve.url}/healthz`)).status).toBe(200);

    // A half-written renewal (a key that does not fit) keeps the certificate in force.
    writeFileSync(key, readFileSync(join(FIXTURES, 'server-key.pem')));
    serve.child.kill('SIGHUP');
    await waitFor(() => serve.log().some((l) => l.includes('TLS reload failed')), 10_000, 'the failed reload line');
    expect(await presented(httpPort)).toBe(renewed);
    expect(serve.child.exitCode).toBeNull();
    serve.child.kill('SIGTERM');
    expect((await serve.exited).code).toBe(0);
  });

  it('node.setTls swaps the certificate of HTTPS, MQTTS and the admin listener', async () => {
    const n = await warpNode({ tls: SERVER, mqtt: { port: 0 }, admin: { port: 0 } });
    const renewed = new X509Certificate(pem('server2.pem')).fingerprint256;
    n.setTls({ cert: pem('server2.pem'), key: pem('server2-key.pem') });
    for (const url of [n.url, n.adminUrl!, n.ingestion.mqtt!.url.replace('mqtts:', 'https:')])
      expect(await presented(portOf(url))).toBe(renewed);
    expect(() => n.setTls({ cert: pem('server.pem'), key: pem('server2-key.pem') })).toThrow(
      /^tls\.key: not the key of the tls\.cert certificate$/,
    );
    expect(() => n.setTls({ cert: 'garbage', key: pem('server2-key.pem') })).toThrow(/^tls\.cert: no PEM certificate/);
    expect(await presented(portOf(n.url))).toBe(renewed);
  });

  it('--admin-port: /metrics, /healthz, /settled, /dead-letters, warming move there and 404 on the main port', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const n = await warpNode({ admin: { port: 0 }, workers: 2, modelSource: buildingModelSource(), logger });
    expect(n.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(n.adminUrl).not.toBe(n.url);
    for (const route of ['/metrics', '/healthz', '/readyz', '/settled', '/dead-letters']) {
      expect((await fetch(`${n.url}${route}`)).status, `main ${route}`).toBe(404);
      expect((await fetch(`${n.adminUrl}${route}`)).status, `admin ${route}`).toBe(200);
    }
    expect(await (await fetch(`${n.adminUrl}/metrics`)).text()).toMatch(/^# HELP twinflow_events_total/m);
    // Warming too (POST /twins/warm, /twins/{path}/warm); commands stay on the main port.
    expect((await fetch(`${n.url}/twins/warm`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${n.url}/twins/org/a/warm`, { method: 'POST' })).status).toBe(404);
    const warmed = await fetch(`${n.adminUrl}/twins/org/a/warm`, { method: 'POST' });
    expect(warmed.status).toBe(200);
    expect(await warmed.json()).toEqual({ prefix: '/org/a', started: 0 });
    expect((await fetch(`${n.adminUrl}/twins/warm`, { method: 'POST' })).status).toBe(200);
    const UNIT = '/org/a/site/s1/building/b1/floor/1/unit/u1';
    const command = { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'true' };
    expect((await fetch(`${n.url}/twins${UNIT}/commands/secure`, command)).status).toBe(202);
    expect((await fetch(`${n.adminUrl}/twins${UNIT}/commands/secure`, command)).status).toBe(404);
    // Everything else stays on the main port.
    expect((await fetch(`${n.url}/twins${SENSOR_A}`)).status).not.toBe(404);
    expect((await fetch(`${n.adminUrl}/twins${SENSOR_A}`)).status).toBe(404);
    expect(lines.some((l) => l.includes('admin listener'))).toBe(true);
    // With TLS the admin listener serves HTTPS with the same certificate.
    const t = await warpNode({ tls: SERVER, admin: { port: 0 } });
    expect(t.adminUrl).toMatch(/^https:/);
    expect((await https(`${t.adminUrl}/metrics`)).status).toBe(200);
    expect((await https(`${t.url}/metrics`)).status).toBe(404);
  });

  it('the admin listener on a non-loopback address needs access rules like the other fronts', async () => {
    await expect(warpNode({ admin: { host: '0.0.0.0', port: 0 } })).rejects.toMatchObject({
      code: 'TWIN_CONFIG_INVALID',
      message: expect.stringMatching(/admin listener on 0\.0\.0\.0/),
    });
  });

  it('a plain TCP connection that sends nothing is closed by the MQTTS handshake timeout', async () => {
    const n = await warpNode({ tls: SERVER, mqtt: { port: 0, connectTimeoutMs: 300 } });
    const port = portOf(n.ingestion.mqtt!.url.replace('mqtts:', 'https:'));
    const closed = await new Promise<boolean>((resolveClosed) => {
      const s = netConnect(port, '127.0.0.1');
      s.on('close', () => resolveClosed(true));
      s.on('error', () => undefined);
      setTimeout(() => resolveClosed(false), 5000);
    });
    expect(closed).toBe(true);
  });
});

describe('TLS and admin flags of twinflow serve', () => {
  const cert = join(FIXTURES, 'server.pem'),
    key = join(FIXTURES, 'server-key.pem'),
    ca = join(FIXTURES, 'ca.pem');

  it('reads --tls-* and --admin-* (then TWINFLOW_*), with one-line errors naming the flags', () => {
    const c = parseServeConfig(['--tls-cert', cert, '--tls-key', key, '--admin-port', '9464'], {});
    expect(c.tls!.files).toEqual({ cert, key });
    expect(c.tls!.tls.cert).toEqual(pem('server.pem'));
    expect(c.tls!.tls.clientCerts).toBe('off');
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 9464 });
    const env = parseServeConfig([], {
      TWINFLOW_TLS_CERT: cert,
      TWINFLOW_TLS_KEY: key,
      TWINFLOW_TLS_CA: ca,
      TWINFLOW_TLS_CLIENT_CERTS: 'require',
      TWINFLOW_ADMIN_HOST: '10.0.0.5',
      TWINFLOW_ADMIN_PORT: '0',
    });
    expect(env.tls!.tls.clientCerts).toBe('require');
    expect(env.tls!.tls.ca).toEqual(CA);
    expect(env.admin).toEqual({ host: '10.0.0.5', port: 0 });
    expect(parseServeConfig([], {})).toMatchObject({ tls: undefined, admin: undefined });

    expect(() => parseServeConfig(['--tls-cert', cert], {})).toThrow(
      /^--tls-cert and --tls-key go together: give both or neither$/,
    );
    expect(() => parseServeConfig(['--tls-key', key], {})).toThrow(/--tls-cert and --tls-key go together/);
    expect(() => parseServeConfig(['--tls-cert', cert, '--tls-key', '/nope/key.pem'], {})).toThrow(
      /^--tls-key \/nope\/key\.pem: ENOENT$/,
    );
    expect(() => parseServeConfig(['--tls-cert', cert, '--tls-key', key, '--tls-client-certs', 'maybe'], {})).toThrow(
      /--tls-client-certs must be one of off, request, require, got maybe/,
    );
    expect(() => parseServeConfig(['--tls-cert', cert, '--tls-key', key, '--tls-client-certs', 'require'], {})).toThrow(
      /--tls-client-certs require needs --tls-ca/,
    );
    expect(() => parseServeConfig(['--tls-ca', ca], {})).toThrow(/need --tls-cert and --tls-key/);
    expect(() => parseServeConfig(['--admin-host', '0.0.0.0'], {})).toThrow(/--admin-host needs --admin-port/);
    expect(() => parseServeConfig(['--admin-port', 'x'], {})).toThrow(
      /--admin-port must be an integer from 0 to 65535/,
    );
    expect(serveHelp()).toMatch(/--tls-client-certs <mode>[\s\S]*--admin-port <n>/);
  });

  it('refuses a --tls-ca, --tls-cert or --tls-key file that does not parse, naming the flag', async () => {
    const dir = tempDir();
    const garbage = join(dir, 'bad.pem');
    writeFileSync(garbage, 'garbage\n');
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, `${readFileSync(ca, 'utf8')}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    const flags = (c: string, k: string, a: string) => [
      ...['--tls-cert', c, '--tls-key', k, '--tls-ca', a, '--tls-client-certs', 'require'],
    ];
    expect(() => parseServeConfig(flags(cert, key, garbage), {})).toThrow(/^--tls-ca \S+bad\.pem: no PEM certificate/);
    expect(() => parseServeConfig(flags(cert, key, broken), {})).toThrow(/^--tls-ca \S+: certificate 2 unusable/);
    expect(() => parseServeConfig(flags(garbage, key, ca), {})).toThrow(/^--tls-cert \S+: no PEM certificate/);
    expect(() => parseServeConfig(flags(cert, garbage, ca), {})).toThrow(
      /^--tls-key \S+: not a usable PEM private key/,
    );
    const otherKey = join(FIXTURES, 'server2-key.pem');
    expect(() => parseServeConfig(flags(cert, otherKey, ca), {})).toThrow(
      /^--tls-key \S+server2-key\.pem: not the key of the --tls-cert certificate \S+server\.pem$/,
    );
    expect(parseServeConfig(flags(cert, key, ca), {}).tls!.tls.ca).toEqual(CA);
    // The real command stops at start rather than serving and refusing every client certificate.
    await expect(
      serveProcess(['--port', '0', '--mqtt-port', '0', '--memory', ...flags(cert, key, garbage)]),
    ).rejects.toThrow(/--tls-ca \S+bad\.pem: no PEM certificate/);
  });
});
