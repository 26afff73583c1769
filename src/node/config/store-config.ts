import { availableParallelism } from 'node:os';
import type { PassivationOptions } from '../../actors/passivation.js';
import type { Durability } from '../../store/lmdb-store.js';
import { envValue, flagOrEnv, readNumber } from './flags.js';

/** Storage settings of a node: where state lives, how durable an acknowledgement is, and passivation. */
export interface StorageOptions {
  /** LMDB data directory; without it (and without `store`) state is kept in memory only. */
  dataDir?: string;
  durability?: Durability;
  passivation?: PassivationOptions;
  /** Journal every committed turn (history and state-as-of reads). */
  journal?: boolean;
  /** How long journal entries are kept (ms, default 7 days). */
  journalRetentionMs?: number;
  /** Shard worker threads (0: everything on the main thread). */
  workers?: number;
  /** Path prefixes whose stored twins start right after the node is up (see `Runtime.warm`). */
  warm?: string[];
  /** Most twins one wildcard link or subtree listing may match (RuntimeOptions.maxLinkTwins; default 10 000). */
  maxLinkTwins?: number;
}

export const STORE_FLAGS = {
  data: { type: 'string' },
  durability: { type: 'string' },
  'max-active': { type: 'string' },
  'idle-timeout': { type: 'string' },
  memory: { type: 'boolean' },
  journal: { type: 'boolean' },
  workers: { type: 'string' },
  'journal-retention': { type: 'string' },
  warm: { type: 'string', multiple: true },
  'max-link-twins': { type: 'string' },
} as const;

export const STORE_HELP = `
  --data <dir>             LMDB data directory (env TWINFLOW_DATA, default ./data)
  --memory                 keep state in memory only (nothing written to disk)
  --durability <mode>      strict: ack after fsync (default); relaxed: ack at once, commit within ms (env TWINFLOW_DURABILITY)
  --max-active <n>         passivate least recently active twins past ~n live twins (default 1000000)
  --idle-timeout <ms>      passivate twins idle this long (default 600000; 0 = never)
  --workers <n>            shard worker threads (env TWINFLOW_WORKERS, default: the core count; 0 = main thread)
  --journal                record every turn: GET /twins/{path}/history and ?at= reads (env TWINFLOW_JOURNAL=1)
  --journal-retention <ms> keep journal entries this long (default 604800000 = 7 days)
  --warm <prefix>          after start, bring the stored twins under a path back at once (repeatable; / = all)
  --max-link-twins <n>     most twins one wildcard link or GET /twins query may match (default 10000)
`;

/** Reads the storage flags (see {@link STORE_HELP}), then their TWINFLOW_* variables (blank = unset). */
export function storageFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): StorageOptions {
  const flag = (name: string): string | undefined => values[name] as string | undefined;
  const count = (name: string, fallback: number, envName?: string, min = 0): number => {
    const s = flagOrEnv(name, flag(name), env, envName);
    return s ? readNumber(s.name, s.raw, { integer: true, min }) : fallback;
  };
  const durability = flagOrEnv('durability', flag('durability'), env, 'TWINFLOW_DURABILITY');
  if (durability && durability.raw !== 'strict' && durability.raw !== 'relaxed')
    throw new Error(`${durability.name} must be strict or relaxed, got ${durability.raw}`);
  const idleMs = count('idle-timeout', 600_000);
  return {
    dataDir: values.memory ? undefined : (flag('data') ?? envValue(env, 'TWINFLOW_DATA') ?? './data'),
    durability: (durability?.raw ?? 'strict') as Durability,
    journal: values.journal === true || journalFromEnv(env),
    workers: count('workers', availableParallelism(), 'TWINFLOW_WORKERS'),
    journalRetentionMs: count('journal-retention', 7 * 86_400_000),
    warm: (values.warm as string[] | undefined) ?? [],
    maxLinkTwins: count('max-link-twins', 10_000, undefined, 1),
    passivation: {
      maxActive: count('max-active', 1_000_000),
      ...(idleMs > 0 ? { idleMs } : {}),
    },
  };
}

/** TWINFLOW_JOURNAL: 1/true or 0/false; anything else is refused rather than read as "off". */
function journalFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = envValue(env, 'TWINFLOW_JOURNAL');
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new Error(`TWINFLOW_JOURNAL must be 1 or 0 (or true/false), got ${raw}`);
}
