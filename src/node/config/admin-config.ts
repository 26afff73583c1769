import { envValue, flagOrEnv, readNumber } from './flags.js';
import type { AdminOptions } from '../http/admin-listener.js';

/** `parseArgs` options of the admin listener flags. */
export const ADMIN_FLAGS = {
  'admin-host': { type: 'string' },
  'admin-port': { type: 'string' },
} as const;

export const ADMIN_HELP = `
  Admin listener (docs/http-api.md; env TWINFLOW_ADMIN_HOST, TWINFLOW_ADMIN_PORT):
  --admin-port <n>                  serve /metrics, /healthz, /readyz, /settled, /dead-letters and
                                    POST /twins/…/warm on this port instead of the main one (404 there);
                                    0 for any free port
  --admin-host <addr>               its listen address (default 127.0.0.1; needs --admin-port)
`;

/**
 * Reads the admin listener flags; undefined without `--admin-port` (everything on the main port).
 *
 * @example
 * ```ts
 * adminFromFlags({ 'admin-port': '9464' }, {}); // { host: '127.0.0.1', port: 9464 }
 * ```
 */
export function adminFromFlags(
  values: { 'admin-host'?: string; 'admin-port'?: string },
  env: NodeJS.ProcessEnv,
): AdminOptions | undefined {
  const port = flagOrEnv('admin-port', values['admin-port'], env, 'TWINFLOW_ADMIN_PORT');
  const host = values['admin-host'] ?? envValue(env, 'TWINFLOW_ADMIN_HOST');
  if (port === undefined) {
    if (host !== undefined) throw new Error('--admin-host needs --admin-port');
    return undefined;
  }
  if (host !== undefined && host.trim() === '') throw new Error('--admin-host needs an address');
  return { host: host ?? '127.0.0.1', port: readNumber(port.name, port.raw, { integer: true, max: 65535 }) };
}
