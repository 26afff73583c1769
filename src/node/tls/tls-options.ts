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
 * one that cannot be read (one line, for the start of `twinflow serve` and for reloads).
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
  return {
    cert: read('--tls-cert', files.cert),
    key: read('--tls-key', files.key),
    ...(files.ca === undefined ? {} : { ca: read('--tls-ca', files.ca) }),
  };
}

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
