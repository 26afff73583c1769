import { availableParallelism } from 'node:os';
import type { PassivationOptions } from '../actors/index.js';
import type { Durability } from '../persistence/lmdb-store.js';

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
} as const;

export const STORE_HELP = `
  --data <dir>             LMDB data directory (env TWINFLOW_DATA, default ./data)
  --memory                 keep state in memory only (nothing written to disk)
  --durability <mode>      strict: ack after fsync (default); relaxed: ack at once, commit within ms
  --max-active <n>         passivate least recently active twins past ~n live twins (default 1000000)
  --idle-timeout <ms>      passivate twins idle this long (default 600000; 0 = never)
  --workers <n>            shard worker threads (env TWINFLOW_WORKERS, default: the core count; 0 = main thread)
  --journal                record every turn: GET /twins/{path}/history and ?at= reads
  --journal-retention <ms> keep journal entries this long (default 604800000 = 7 days)
  --warm <prefix>          after start, bring the stored twins under a path back at once (repeatable; / = all)
`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}

/** Reads the storage flags (see {@link STORE_HELP}). */
export function storageFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): StorageOptions {
  const durability = (values.durability as string | undefined) ?? env.TWINFLOW_DURABILITY ?? 'strict';
  if (durability !== 'strict' && durability !== 'relaxed') throw new Error(`--durability must be strict or relaxed, got ${durability}`);
  const idleMs = positiveInt('idle-timeout', values['idle-timeout'] as string | undefined, 600_000);
  return {
    dataDir: values.memory ? undefined : ((values.data as string | undefined) ?? env.TWINFLOW_DATA ?? './data'),
    durability,
    journal: values.journal === true || env.TWINFLOW_JOURNAL === '1',
    workers: positiveInt('workers', (values.workers as string | undefined) ?? env.TWINFLOW_WORKERS, availableParallelism()),
    journalRetentionMs: positiveInt('journal-retention', values['journal-retention'] as string | undefined, 7 * 86_400_000),
    warm: (values.warm as string[] | undefined) ?? [],
    passivation: {
      maxActive: positiveInt('max-active', values['max-active'] as string | undefined, 1_000_000),
      ...(idleMs > 0 ? { idleMs } : {}),
    },
  };
}
