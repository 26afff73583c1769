import { ACCESS_FLAGS, ACCESS_HELP, accessFromFlags, type AccessOptions } from './access-config.js';
import { INGEST_FLAGS, INGEST_HELP, ingestionFromFlags } from './ingest-config.js';
import { envValue, flagOrEnv, parseFlags, readNumber } from './flags.js';
import { FRONT_FLAGS, FRONT_HELP, frontsFromFlags, type FrontOptions } from './front-config.js';
import type { IngestionOptions } from '../ingestion.js';
import { LIMIT_FLAGS, LIMITS_HELP, limitsFromFlags, type LimitOptions } from './limits-config.js';
import { TLS_FLAGS, TLS_HELP, tlsFromFlags, type TlsConfig } from './tls-config.js';
import { ADMIN_FLAGS, ADMIN_HELP, adminFromFlags } from './admin-config.js';
import type { AdminOptions } from '../http/admin-listener.js';
import { STORE_FLAGS, STORE_HELP, storageFromFlags, type StorageOptions } from './store-config.js';
import { CLUSTER_FLAGS, CLUSTER_HELP, clusterFromFlags, clusterStorage } from './cluster-config.js';
import type { ClusterOptions } from '../../cluster/cluster-options.js';

/** Settings of `twinflow serve`, from flags, then environment, then defaults. */
export interface ServeConfig {
  host: string;
  port: number;
  logLevel: string;
  /** MQTT front and outputs (`--mqtt-*`, `--webhook`). */
  ingestion: IngestionOptions;
  /** Data directory, durability and passivation (`--data`, `--durability`, …). */
  storage: StorageOptions;
  /** Bounds on what one input may cost (`--max-payload-depth`, …; docs/limits.md). */
  limits: LimitOptions;
  /** Bounds of the HTTP and WARP fronts (`--http-*`, `--warp-*`). */
  fronts: FrontOptions;
  /** Access rules (`--auth`, `--insecure`). */
  access: AccessOptions;
  /** TLS (`--tls-*`): undefined for plain HTTP/WS/MQTT. */
  tls: TlsConfig | undefined;
  /** The admin listener (`--admin-host`, `--admin-port`): undefined keeps everything on the main port. */
  admin: AdminOptions | undefined;
  /** `--cluster`: the NATS servers of the twin space this node joins (undefined: a single node). */
  cluster: ClusterOptions | undefined;
}

const HELP = `twinflow serve [options]

  --host <addr>       listen address (env TWINFLOW_HOST, default 127.0.0.1)
  --port <n>          HTTP port, 0 for any free port (env TWINFLOW_PORT, default 9001)
  --log-level <lvl>   pino level (env TWINFLOW_LOG_LEVEL, default info)

  Every flag also takes the form --flag=value; an empty TWINFLOW_* variable counts as unset.
`;

/** pino's levels: anything else makes pino throw at start, far from the flag that caused it. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The flags of `twinflow serve` (node:util parseArgs shapes); `record` takes them too. */
export const SERVE_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
  ...INGEST_FLAGS,
  ...STORE_FLAGS,
  ...LIMIT_FLAGS,
  ...FRONT_FLAGS,
  ...ACCESS_FLAGS,
  ...TLS_FLAGS,
  ...ADMIN_FLAGS,
  ...CLUSTER_FLAGS,
} as const;

/** Parsed {@link SERVE_FLAGS}: strings, booleans for switches, arrays for repeatable flags. */
export type ServeFlagValues = {
  [K in keyof typeof SERVE_FLAGS]?: (typeof SERVE_FLAGS)[K] extends { multiple: true }
    ? string[]
    : (typeof SERVE_FLAGS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

export function serveHelp(): string {
  return (
    HELP + ACCESS_HELP + TLS_HELP + ADMIN_HELP + STORE_HELP + CLUSTER_HELP + INGEST_HELP + FRONT_HELP + LIMITS_HELP
  );
}

/** Parses serve flags; throws an Error with a usage message on bad input. */
export function parseServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { values } = parseFlags({ args: argv, options: SERVE_FLAGS, strict: true });
  return serveConfigFrom(values, env);
}

/** Serve settings from parsed {@link SERVE_FLAGS} values, then environment, then defaults. */
export function serveConfigFrom(values: ServeFlagValues, env: NodeJS.ProcessEnv): ServeConfig {
  const portSetting = flagOrEnv('port', values.port, env, 'TWINFLOW_PORT');
  const port = portSetting ? readNumber(portSetting.name, portSetting.raw, { integer: true, max: 65535 }) : 9001;
  const level = flagOrEnv('log-level', values['log-level'], env, 'TWINFLOW_LOG_LEVEL');
  if (level && !LOG_LEVELS.includes(level.raw))
    throw new Error(`${level.name} must be one of ${LOG_LEVELS.join(', ')}, got ${level.raw}`);
  const cluster = clusterFromFlags(values, env);
  const storage = storageFromFlags(values, env);
  return {
    host: values.host ?? envValue(env, 'TWINFLOW_HOST') ?? '127.0.0.1',
    port,
    logLevel: level?.raw ?? 'info',
    ingestion: ingestionFromFlags(values, env),
    storage: cluster ? clusterStorage(storage, values, env) : storage,
    limits: limitsFromFlags(values, env),
    fronts: frontsFromFlags(values, env),
    access: accessFromFlags(values, env),
    tls: tlsFromFlags(values, env),
    admin: adminFromFlags(values, env),
    cluster,
  };
}
