import type { MqttWireLimits } from './mqtt-wire.js';

/** Longest keep alive the embedded broker grants, in seconds, by default (10 minutes). */
export const DEFAULT_MAX_KEEPALIVE_SECONDS = 600;

/** The bounds of an embedded-broker session: the wire's, and what the sessions enforce themselves. */
export interface MqttSessionLimits extends MqttWireLimits {
  /**
   * Longest keep alive a client is granted, in seconds (1-65535). A client asking for 0
   * (no keep alive) or more gets this one, so a connection that sends nothing is closed
   * after 1.5 times it: otherwise idle sockets could hold `maxConnections` forever.
   */
  maxKeepaliveSeconds: number;
}

/**
 * The keep alive the server enforces for a client that asked for `requested` seconds:
 * its own, unless that is 0 (none) or above `max`, then `max`.
 *
 * @example
 * ```ts
 * serverKeepAlive(60, 600); // 60
 * serverKeepAlive(0, 600);  // 600
 * ```
 */
export function serverKeepAlive(requested: number, max: number): number {
  return requested > 0 && requested <= max ? requested : max;
}
