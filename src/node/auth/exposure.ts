import { isIP } from 'node:net';
import { TwinError } from '../../errors.js';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** Where a node listens, and whether anyone must prove who they are. */
export interface Exposure {
  /** The HTTP/WARP listen address. */
  readonly host: string;
  /** The embedded MQTT broker's listen address (undefined: no embedded broker). */
  readonly mqttHost: string | undefined;
  /** The admin listener's address (undefined: none): metrics and dead letters hold twins' data too. */
  readonly adminHost?: string;
  /** True when access rules are configured. */
  readonly authenticated: boolean;
  /** The operator's explicit choice to serve without access rules beyond loopback. */
  readonly insecure: boolean;
}

/**
 * Secure by default: a node without access rules lets anyone who reaches it read, write and
 * command every twin, so it may listen only on loopback. Any other address without rules is
 * refused (TWIN_CONFIG_INVALID, naming the flags that fix it) unless `insecure` is set; then
 * the returned warning is for the start log. Undefined: nothing to say.
 *
 * @example
 * ```ts
 * checkExposure({ host: '0.0.0.0', mqttHost: undefined, authenticated: false, insecure: false }); // throws
 * ```
 */
export function checkExposure(e: Exposure): string | undefined {
  if (e.authenticated) return undefined;
  const exposed = [
    !isLoopback(e.host) && `HTTP/WARP on ${e.host}`,
    e.mqttHost !== undefined && !isLoopback(e.mqttHost) && `MQTT on ${e.mqttHost}`,
    e.adminHost !== undefined && !isLoopback(e.adminHost) && `the admin listener on ${e.adminHost}`,
  ].filter((x): x is string => typeof x === 'string');
  if (exposed.length === 0) return undefined;
  const what = exposed.join(' and ');
  if (!e.insecure)
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `refusing to serve ${what} without access rules: anyone who reaches it could read, write and command every twin. Give --auth <access file> (docs/security.md), listen on 127.0.0.1, or pass --insecure to accept the risk`,
      { exposed },
    );
  return `serving ${what} WITHOUT access rules (--insecure): anyone who reaches it may read, write and command every twin`;
}
