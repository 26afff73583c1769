import { isMainThread } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Whether log lines are for a person (pino-pretty: one coloured line per event) or for a
 * machine (JSON lines): `TWINFLOW_LOG_FORMAT=pretty|json`, else pretty when stdout is a
 * terminal. Worker threads have no terminal of their own: they follow the variable, which
 * the CLI sets before it starts any (see src/cli/cli.ts), so a node's lines all look alike.
 */
export function prettyLogs(env: NodeJS.ProcessEnv = process.env): boolean {
  const format = env.TWINFLOW_LOG_FORMAT?.trim();
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  return isMainThread && process.stdout.isTTY === true;
}

/**
 * The runtime's logger: pino, JSON lines to stdout (pretty lines at a terminal, see
 * {@link prettyLogs}), level from `level` or the `TWINFLOW_LOG_LEVEL` environment variable
 * (default `info`; blank counts as unset, as pino refuses an empty level).
 */
export function createLogger(level?: string): Logger {
  const options = { name: 'twinflow', level: level ?? (process.env.TWINFLOW_LOG_LEVEL?.trim() || 'info') };
  if (!prettyLogs()) return pino(options);
  // Synchronous: a line logged just before the process exits is not lost in a worker's buffer.
  return pino(
    options,
    pretty({
      sync: true,
      singleLine: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    }),
  );
}

export type { Logger };

/**
 * A warning for something that can happen many times a second (a flood of bad input, a
 * connection that keeps failing): logged at most once per `everyMs`, the line saying how many
 * occurrences it stands for (`field`), so the log stays readable and cannot become the
 * bottleneck. The first occurrence is logged at once.
 */
export class ThrottledWarning {
  private count = 0;
  private loggedAt = -Infinity;

  constructor(
    private readonly log: { warn(fields: object, message: string): void },
    private readonly message: string,
    private readonly everyMs: number,
    private readonly field = 'count',
  ) {}

  /** Counts `n` occurrences (default one); logs them with `fields` and the count since the last line when due. */
  note(fields: Record<string, unknown>, now = performance.now(), n = 1): void {
    this.count += n;
    if (now - this.loggedAt < this.everyMs) return;
    this.log.warn({ ...fields, [this.field]: this.count }, this.message);
    this.count = 0;
    this.loggedAt = now;
  }
}
