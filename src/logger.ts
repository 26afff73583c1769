import { pino, type Logger } from 'pino';

/**
 * The runtime's logger: pino, JSON lines to stdout, level from `level` or the
 * `TWINFLOW_LOG_LEVEL` environment variable (default `info`; blank counts as unset, as
 * pino refuses an empty level).
 */
export function createLogger(level?: string): Logger {
  return pino({ name: 'twinflow', level: level ?? (process.env.TWINFLOW_LOG_LEVEL?.trim() || 'info') });
}

export type { Logger };
