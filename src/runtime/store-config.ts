import type { PassivationOptions } from '../actors/index.js';
import type { Durability } from '../persistence/lmdb-store.js';

/** Storage settings of a node: where state lives, how durable an acknowledgement is, and passivation. */
export interface StorageOptions {
  /** LMDB data directory; without it (and without `store`) state is kept in memory only. */
  dataDir?: string;
  durability?: Durability;
  passivation?: PassivationOptions;
}

export const STORE_FLAGS = {
  data: { type: 'string' },
  durability: { type: 'string' },
  'max-active': { type: 'string' },
  'idle-timeout': { type: 'string' },
  memory: { type: 'boolean' },
} as const;

export const STORE_HELP = `
  --data <dir>             LMDB data directory (env TWINFLOW_DATA, default ./data)
  --memory                 keep state in memory only (nothing written to disk)
  --durability <mode>      strict: ack after fsync (default); relaxed: ack at once, commit within ms
  --max-active <n>         passivate least recently active twins past ~n live twins (default 1000000)
  --idle-timeout <ms>      passivate twins idle this long (default 600000; 0 = never)
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
    passivation: {
      maxActive: positiveInt('max-active', values['max-active'] as string | undefined, 1_000_000),
      ...(idleMs > 0 ? { idleMs } : {}),
    },
  };
}
