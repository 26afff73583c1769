import { readNumber } from '../node/config/flags.js';
import { MODEL_FLAGS, MODELS_HELP } from './model-flags.js';

/** Flags shared by `replay` and `whatif` (node:util parseArgs shapes). */
export const REPLAY_FLAGS = {
  speed: { type: 'string' },
  max: { type: 'boolean' },
  tick: { type: 'string' },
  steps: { type: 'string' },
  tail: { type: 'string' },
  data: { type: 'string' },
  memory: { type: 'boolean' },
  workers: { type: 'string' },
  json: { type: 'boolean' },
  ...MODEL_FLAGS,
} as const;

export const REPLAY_HELP = `
  --max                    as fast as possible (default)
  --speed <n>              n times real time (event time per wall time)
  --steps batch|tick       batch: one step per recorded ingest call (default for recordings of a
                           runtime); tick: steps by event time (default for generated/imported ones)
  --tick <ms>              tick step width in event time (default 1000; 0 = every distinct timestamp)
  --tail <ms>              after the last event, advance virtual time this much (timers, windows)
  --data <dir>             keep the replayed state in LMDB there (must be empty; default: in memory)
  --memory                 keep the replayed state in memory (the default without --data)
  --workers <n>            shard worker threads (default 0: one shard on this thread); the digest is the same at any count
  --json                   print the result as JSON
${MODELS_HELP}`;

function num(flag: string, raw: string | undefined, fallback: number, integer = false): number {
  return raw === undefined ? fallback : readNumber(`--${flag}`, raw, { integer });
}

/** Pacing and storage options of a replay from its flags. */
export function replayOptionsFromFlags(v: Record<string, unknown>): {
  speed: number;
  steps?: 'batch' | 'tick';
  tickMs: number;
  tailMs: number;
  dataDir?: string;
  memory: boolean;
  workers: number;
} {
  if (v.max && v.speed !== undefined) throw new Error('--speed and --max exclude each other');
  const workers = num('workers', v.workers as string | undefined, 0, true);
  if (v.steps !== undefined && v.steps !== 'batch' && v.steps !== 'tick')
    throw new Error(`--steps must be batch or tick, got ${v.steps as string}`);
  return {
    ...(v.steps !== undefined ? { steps: v.steps } : {}),
    speed: v.max ? 0 : num('speed', v.speed as string | undefined, 0),
    tickMs: num('tick', v.tick as string | undefined, 1000),
    tailMs: num('tail', v.tail as string | undefined, 0),
    ...(typeof v.data === 'string' ? { dataDir: v.data } : {}),
    memory: v.memory === true || typeof v.data !== 'string',
    workers,
  };
}
