import { envValue } from './flags.js';

/** Access settings of `twinflow serve`: the access file, and the explicit choice to go without. */
export interface AccessOptions {
  /** The access file (docs/security.md); undefined: no rules, loopback only. */
  access?: string;
  /** Serve on a non-loopback address without access rules. */
  insecure?: boolean;
}

/** `parseArgs` options of the access flags. */
export const ACCESS_FLAGS = {
  auth: { type: 'string' },
  insecure: { type: 'boolean' },
} as const;

export const ACCESS_HELP = `
  Access (docs/security.md):
  --auth <file>                     access file: principals, tokens, JWT keys, grants on paths; reloaded when
                                    it changes and on SIGHUP (env TWINFLOW_AUTH). Without it the node serves
                                    only on loopback, where every caller may do everything
  --insecure                        serve a non-loopback --host/--mqtt-host without --auth (warned at start)
`;

/**
 * Reads the access flags (then TWINFLOW_AUTH / TWINFLOW_INSECURE=1).
 *
 * @example
 * ```ts
 * accessFromFlags({ auth: 'access.json' }, {}); // { access: 'access.json', insecure: false }
 * ```
 */
export function accessFromFlags(values: { auth?: string; insecure?: boolean }, env: NodeJS.ProcessEnv): AccessOptions {
  const file = values.auth ?? envValue(env, 'TWINFLOW_AUTH');
  if (file !== undefined && file.trim() === '') throw new Error('--auth needs a file');
  return { access: file, insecure: values.insecure === true || envValue(env, 'TWINFLOW_INSECURE') === '1' };
}
