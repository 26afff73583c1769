import { parseArgs } from 'node:util';
import { INGEST_FLAGS, INGEST_HELP, ingestionFromFlags } from './ingest-config.js';
import type { IngestionOptions } from './ingestion.js';
import { STORE_FLAGS, STORE_HELP, storageFromFlags, type StorageOptions } from './store-config.js';

/** Settings of `twinflow serve`, from flags, then environment, then defaults. */
export interface ServeConfig {
  host: string;
  port: number;
  logLevel: string;
  /** MQTT front and outputs (`--mqtt-*`, `--webhook`). */
  ingestion: IngestionOptions;
  /** Data directory, durability and passivation (`--data`, `--durability`, …). */
  storage: StorageOptions;
}

const HELP = `twinflow serve [options]

  --host <addr>       listen address (env TWINFLOW_HOST, default 127.0.0.1)
  --port <n>          HTTP port, 0 for any free port (env TWINFLOW_PORT, default 9001)
  --log-level <lvl>   pino level (env TWINFLOW_LOG_LEVEL, default info)
`;

export function serveHelp(): string {
  return HELP + STORE_HELP + INGEST_HELP;
}

/** Parses serve flags; throws an Error with a usage message on bad input. */
export function parseServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      ...INGEST_FLAGS,
      ...STORE_FLAGS,
    },
    strict: true,
  });
  const port = Number(values.port ?? env.TWINFLOW_PORT ?? 9001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port ?? env.TWINFLOW_PORT}`);
  return {
    host: values.host ?? env.TWINFLOW_HOST ?? '127.0.0.1',
    port,
    logLevel: values['log-level'] ?? env.TWINFLOW_LOG_LEVEL ?? 'info',
    ingestion: ingestionFromFlags(values, env),
    storage: storageFromFlags(values, env),
  };
}
