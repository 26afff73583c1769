import { pino, type Logger } from 'pino';
import { envValue } from './cli-flags.js';

/**
 * The runtime's logger: pino, JSON lines to stdout, level from `level` or the
 * `TWINFLOW_LOG_LEVEL` environment variable (default `info`; blank counts as unset, as
 * pino refuses an empty level).
 */
export function createLogger(level?: string): Logger {
  return pino({ name: 'twinflow', level: level ?? envValue(process.env, 'TWINFLOW_LOG_LEVEL') ?? 'info' });
}

export type { Logger };
