import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createSecureContext,
  type TlsOptions as NodeTlsOptions,
  type SecureContextOptions,
  type TLSSocket,
} from 'node:tls';
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
 * What the errors of {@link checkTlsMaterial} call each input: the option field (`tls.key`)
 * or the flag (`--tls-key`), and the file it was read from, if any.
 */
export interface TlsSource {
  readonly name: string;
  readonly file?: string;
}

/** The fields of {@link TlsOptions}, as `startNode` and `setTls` name them in their errors. */
export const TLS_OPTION_FIELDS: Readonly<Record<keyof TlsMaterial, TlsSource>> = {
  cert: { name: 'tls.cert' },
  key: { name: 'tls.key' },
  ca: { name: 'tls.ca' },
};

/**
 * Checks certificate material, the one check of every path (`twinflow serve`, its reloads,
 * `startNode`, `setTls`); throws an Error naming the input (`sources`) and why on the first
 * one that does not parse: `cert` and `ca` must hold PEM certificates (every block parses;
 * Node would skip a bad CA silently and then refuse every client certificate), `key` a PEM
 * private key, the key of the first certificate of `cert`; then Node must make a TLS context of them.
 *
 * @example
 * ```ts
 * checkTlsMaterial({ cert: readFileSync('server.pem'), key: 'garbage' });
 * // Error: tls.key: not a usable PEM private key: error:1E08010C:DECODER routines::unsupported
 * ```
 */
export function checkTlsMaterial(
  tls: TlsMaterial,
  sources: Readonly<Record<keyof TlsMaterial, TlsSource>> = TLS_OPTION_FIELDS,
): void {
  const where = ({ name, file }: TlsSource): string => (file === undefined ? name : `${name} ${file}`);
  const fail = (source: TlsSource, why: string, cause?: unknown): Error =>
    new Error(`${where(source)}: ${why}`, { cause });
  const text = (pem: string | Buffer): string => (typeof pem === 'string' ? pem : pem.toString('latin1'));
  const certificates = (source: TlsSource, pem: string | Buffer): X509Certificate[] => {
    const blocks = text(pem).match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw fail(source, 'no PEM certificate (-----BEGIN CERTIFICATE-----) in it');
    return blocks.map((block, i) => {
      try {
        return new X509Certificate(block);
      } catch (err) {
        throw fail(source, `certificate ${i + 1} unusable: ${(err as Error).message}`, err);
      }
    });
  };
  const [leaf] = certificates(sources.cert, tls.cert);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(tls.key);
  } catch (err) {
    throw fail(sources.key, `not a usable PEM private key: ${(err as Error).message}`, err);
  }
  if (!leaf!.checkPrivateKey(privateKey)) {
    const { name, file } = sources.cert;
    throw fail(sources.key, `not the key of the ${name} certificate${file === undefined ? '' : ` ${file}`}`);
  }
  if (tls.ca !== undefined) certificates(sources.ca, tls.ca);
  try {
    createSecureContext(secureContextOf(tls));
  } catch (err) {
    // Each part parses, Node refuses them all the same (a key too small for OpenSSL's security level).
    const parts = [sources.cert, sources.key, ...(tls.ca === undefined ? [] : [sources.ca])].map(where);
    throw new Error(`${parts.join(', ')}: no TLS context of them: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads the certificate files; throws an Error naming the flag and the file on the first
 * one that cannot be read or (by {@link checkTlsMaterial}) parsed. One line, for the start
 * of `twinflow serve` and for reloads.
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
  const material: TlsMaterial = {
    cert: read('--tls-cert', files.cert),
    key: read('--tls-key', files.key),
    ...(files.ca === undefined ? {} : { ca: read('--tls-ca', files.ca) }),
  };
  checkTlsMaterial(material, {
    cert: { name: '--tls-cert', file: files.cert },
    key: { name: '--tls-key', file: files.key },
    ca: { name: '--tls-ca', file: files.ca },
  });
  return material;
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
