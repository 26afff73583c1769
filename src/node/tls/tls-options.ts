import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TlsOptions as NodeTlsOptions, SecureContextOptions, TLSSocket } from 'node:tls';
import { TwinError } from '../../errors.js';

/**
 * Client certificates on the TLS fronts: `off` (not asked for), `request` (asked for and
 * verified against `ca` when given; a connection without one, or with one `ca` does not
 * verify, goes on as if it had none), `require` (a connection without a certificate `ca`
 * verifies is refused in the TLS handshake).
 */
export type ClientCertMode = 'off' | 'request' | 'require';

export const CLIENT_CERT_MODES: readonly ClientCertMode[] = ['off', 'request', 'require'];

/** The certificate material of a node's TLS fronts: PEM text or bytes. */
export interface TlsMaterial {
  /** The server certificate (chain), PEM. */
  cert: string | Buffer;
  /** Its private key, PEM. */
  key: string | Buffer;
  /** Trust anchors of client certificates, PEM (needed unless `clientCerts` is `off`). */
  ca?: string | Buffer;
}

/**
 * TLS of a node (`NodeOptions.tls`): with it the HTTP+WARP port serves HTTPS and WSS only,
 * the embedded MQTT broker MQTTS only, and an admin listener (if any) HTTPS.
 *
 * @example
 * ```ts
 * const tls: TlsOptions = { cert: readFileSync('server.pem'), key: readFileSync('server-key.pem') };
 * await startNode({ modelSet, tls, mqtt: { port: 8883 } });
 * ```
 */
export interface TlsOptions extends TlsMaterial {
  /** Client certificates (default `off`). */
  clientCerts?: ClientCertMode;
}

/** Where a node's certificate material is read from, so it can be read again (SIGHUP, renewals). */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

/**
 * The Node `tls.createServer`/`https.createServer` options of a node's TLS fronts. Refuses
 * (TWIN_CONFIG_INVALID) client certificates without a CA: Node would fall back to the public
 * CAs, and any certificate a public CA issued would then name a principal.
 */
export function serverTlsOptions(tls: TlsOptions): NodeTlsOptions {
  const mode = tls.clientCerts ?? 'off';
  if (!CLIENT_CERT_MODES.includes(mode))
    throw new TwinError('TWIN_CONFIG_INVALID', `tls.clientCerts must be one of ${CLIENT_CERT_MODES.join(', ')}`);
  if (mode !== 'off' && tls.ca === undefined)
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `tls.clientCerts "${mode}" needs tls.ca, the CA that issues client certificates`,
    );
  return {
    ...secureContextOf(tls),
    requestCert: mode !== 'off',
    // `request` verifies too, but lets an unverified peer in: it is then anonymous (see peerCommonName).
    rejectUnauthorized: mode === 'require',
  };
}

/** The parts of {@link TlsMaterial} `server.setSecureContext` takes on a reload. */
export function secureContextOf(tls: TlsMaterial): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) };
}

/**
 * Reads the certificate files; throws an Error naming the flag and the file on the first
 * one that cannot be read or parsed: `--tls-cert` and `--tls-ca` must hold PEM certificates
 * (every block parses; Node would skip a bad CA silently and then refuse every client
 * certificate), `--tls-key` a PEM private key. One line, for the start of `twinflow serve`
 * and for reloads; whether the key fits the certificate is checked by the node.
 *
 * @example
 * ```ts
 * readTlsFiles({ cert: 'server.pem', key: 'server-key.pem' }); // { cert: <Buffer>, key: <Buffer> }
 * ```
 */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
      });
    }
  };
  const fail = (flag: string, file: string, why: string, cause?: unknown): Error =>
    new Error(`${flag} ${file}: ${why}`, { cause });
  const certificates = (flag: string, file: string): Buffer => {
    const pem = read(flag, file);
    const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw fail(flag, file, 'no PEM certificate (-----BEGIN CERTIFICATE-----) in it');
    blocks.forEach((block, i) => {
      try {
        new X509Certificate(block);
      } catch (err) {
        throw fail(flag, file, `certificate ${i + 1} unusable: ${(err as Error).message}`, err);
      }
    });
    return pem;
  };
  const cert = certificates('--tls-cert', files.cert);
  const key = read('--tls-key', files.key);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw fail('--tls-key', files.key, `not a usable PEM private key: ${(err as Error).message}`, err);
  }
  if (!new X509Certificate(cert.toString('latin1').match(PEM_CERTIFICATE)![0]).checkPrivateKey(privateKey))
    throw fail('--tls-key', files.key, `not the key of the --tls-cert certificate ${files.cert}`);
  return { cert, key, ...(files.ca === undefined ? {} : { ca: certificates('--tls-ca', files.ca) }) };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/**
 * The common name of the peer's client certificate when the configured CA verified it, else
 * undefined (no TLS, no certificate, or one that did not verify in `request` mode). Cheap: a
 * socket is asked once per connection or request.
 */
export function peerCommonName(socket: unknown): string | undefined {
  const s = socket as Partial<TLSSocket> | null;
  if (!s || s.encrypted !== true || s.authorized !== true || typeof s.getPeerCertificate !== 'function')
    return undefined;
  const cn = s.getPeerCertificate().subject?.CN;
  // A CN given twice comes as an array; such a certificate names nobody in particular.
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}
