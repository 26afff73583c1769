import { envValue } from './flags.js';
import {
  CLIENT_CERT_MODES,
  readTlsFiles,
  type ClientCertMode,
  type TlsFiles,
  type TlsOptions,
} from '../tls/tls-options.js';

/** TLS settings of `twinflow serve`: the material read at start, and the files to read again on SIGHUP. */
export interface TlsConfig {
  tls: TlsOptions;
  files: TlsFiles;
}

/** `parseArgs` options of the TLS flags. */
export const TLS_FLAGS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-client-certs': { type: 'string' },
} as const;

export const TLS_HELP = `
  TLS (docs/security.md, "TLS"; env TWINFLOW_TLS_CERT, …):
  --tls-cert <pem file>             server certificate (chain); with --tls-key the HTTP+WARP port serves
                                    HTTPS/WSS only and the embedded MQTT broker MQTTS only. Both files are
                                    read again on SIGHUP (certificate renewals) without a restart
  --tls-key <pem file>              its private key
  --tls-ca <pem file>               CA certificates that issue client certificates
  --tls-client-certs <mode>         off (default), request (verified if given) or require (refused without);
                                    a verified certificate's CN is a principal (access file: certificates)
`;

type FlagValues = { [K in keyof typeof TLS_FLAGS]?: string };

/**
 * Reads the TLS flags (then `TWINFLOW_TLS_*`) and the files they name. Undefined when neither
 * certificate nor key is given; throws a one-line Error naming the flags when only one is,
 * when a file cannot be read, or when client certificates are asked for without a CA.
 *
 * @example
 * ```ts
 * tlsFromFlags({ 'tls-cert': 'server.pem', 'tls-key': 'server-key.pem' }, {})?.tls.clientCerts; // 'off'
 * ```
 */
export function tlsFromFlags(values: FlagValues, env: NodeJS.ProcessEnv): TlsConfig | undefined {
  const get = (flag: keyof typeof TLS_FLAGS): string | undefined => {
    const v = values[flag] ?? envValue(env, `TWINFLOW_${flag.toUpperCase().replaceAll('-', '_')}`);
    if (v !== undefined && v.trim() === '') throw new Error(`--${flag} needs a file`);
    return v;
  };
  const cert = get('tls-cert'),
    key = get('tls-key'),
    ca = get('tls-ca');
  const mode = (values['tls-client-certs'] ?? envValue(env, 'TWINFLOW_TLS_CLIENT_CERTS') ?? 'off') as ClientCertMode;
  if (!CLIENT_CERT_MODES.includes(mode))
    throw new Error(`--tls-client-certs must be one of ${CLIENT_CERT_MODES.join(', ')}, got ${mode}`);
  if (cert === undefined && key === undefined) {
    if (ca !== undefined || mode !== 'off')
      throw new Error('--tls-ca and --tls-client-certs need --tls-cert and --tls-key');
    return undefined;
  }
  if (cert === undefined || key === undefined)
    throw new Error('--tls-cert and --tls-key go together: give both or neither');
  if (mode !== 'off' && ca === undefined)
    throw new Error(`--tls-client-certs ${mode} needs --tls-ca, the CA that issues the client certificates`);
  const files: TlsFiles = { cert, key, ...(ca === undefined ? {} : { ca }) };
  return { tls: { ...readTlsFiles(files), clientCerts: mode }, files };
}
