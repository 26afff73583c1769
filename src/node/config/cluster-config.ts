import type { ClusterOptions } from '../../cluster/cluster-options.js';
import { envValue, flagOrEnv, readNumber } from './flags.js';
import { checkNatsAuth } from '../../cluster/nats-auth.js';
import { NATS_AUTH_FLAGS, NATS_AUTH_HELP, natsAuthFromFlags, natsFlagsGiven } from './nats-auth-config.js';
import type { StorageOptions } from './store-config.js';

/** `parseArgs` options of the cluster flags. */
export const CLUSTER_FLAGS = {
  cluster: { type: 'string' },
  'cluster-space': { type: 'string' },
  'node-id': { type: 'string' },
  'cluster-replicas': { type: 'string' },
  'cluster-vshards': { type: 'string' },
  'cluster-lease': { type: 'string' },
  'cluster-ownership-log': { type: 'string' },
  ...NATS_AUTH_FLAGS,
} as const;

export const CLUSTER_HELP = `
  Cluster over NATS JetStream (docs/cluster.md):
  --cluster <urls>                  join the twin space on these NATS servers, comma-separated
                                    (env TWINFLOW_CLUSTER); state then lives in JetStream; --data, if
                                    given, keeps this node's local copy of its vshards (reused on restart
                                    when nobody wrote them since); vshard v runs on worker v % --workers
  --cluster-space <name>            the twin space's name: bucket, stream and subject prefix (default twinflow)
  --node-id <id>                    this node's id in the space (default: host name + random suffix)
  --cluster-replicas <1|3|5>        JetStream replicas of the space's streams and buckets (default 1)
  --cluster-vshards <n>             virtual shards of a new space (default 256; every node must agree)
  --cluster-lease <ms>              lease time to live: a dead node's vshards wait this long (default 5000)
  --cluster-ownership-log <file>    append (vshard, epoch, start, end) of each ownership period (audits, tests)
${NATS_AUTH_HELP}`;

/** The cluster flags, or undefined without `--cluster`. */
export function clusterFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ClusterOptions | undefined {
  const flag = (name: string): string | undefined => values[name] as string | undefined;
  const servers = (flag('cluster') ?? envValue(env, 'TWINFLOW_CLUSTER'))
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const others = [
    ...Object.keys(CLUSTER_FLAGS).filter((k) => k !== 'cluster' && !(k in NATS_AUTH_FLAGS) && flag(k) !== undefined),
    ...natsFlagsGiven(values),
  ];
  if (servers === undefined || servers.length === 0) {
    if (others.length > 0) throw new Error(`--${others[0]} needs --cluster`);
    return undefined;
  }
  const number = (name: string, rule: Parameters<typeof readNumber>[2]): number | undefined => {
    const s = flagOrEnv(name, flag(name), env);
    return s ? readNumber(s.name, s.raw, rule) : undefined;
  };
  const auth = natsAuthFromFlags(values, env);
  checkNatsAuth(auth, servers); // here, so a serve with bad NATS flags fails before it opens anything
  return {
    servers,
    ...(auth !== undefined && { auth }),
    space: flag('cluster-space'),
    nodeId: flag('node-id'),
    replicas: number('cluster-replicas', { integer: true, min: 1, max: 5 }),
    vshards: number('cluster-vshards', { integer: true, min: 1, max: 4096 }),
    leaseMs: number('cluster-lease', { integer: true, min: 1000 }),
    ownershipLog: flag('cluster-ownership-log'),
  };
}

/**
 * Storage in cluster mode: twin state lives in JetStream. A data directory is used only
 * when given explicitly (`--data`, TWINFLOW_DATA), for the node's local copy of its
 * vshards; the single-node default (./data) is not, so nodes sharing a machine do not
 * meet on one directory. Worker threads stay as given (default: one per core): vshard v
 * runs on worker v % workers.
 */
export function clusterStorage(
  storage: StorageOptions,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): StorageOptions {
  const explicit = values.data !== undefined || envValue(env, 'TWINFLOW_DATA') !== undefined;
  return { ...storage, dataDir: explicit ? storage.dataDir : undefined };
}
