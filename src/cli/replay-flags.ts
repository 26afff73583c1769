import { readNumber } from '../node/config/flags.js';
import type { ModelSource } from '../hosting/worker-protocol.js';
import type { TwinModel } from '../model/twin-model.js';
import { buildingModels, buildingModelSource, defaultParams, type BuildingParams } from '../../models/index.js';

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
  models: { type: 'string' },
  param: { type: 'string', multiple: true },
  json: { type: 'boolean' },
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
  --models building        the model set (only the building model ships)
  --param <name>=<value>   override a model parameter (repeatable): ${Object.keys(defaultParams).join(', ')}
  --json                   print the result as JSON
`;

/** Parses `--param name=value` overrides of the building model. */
export function parseParams(raw: readonly string[] | undefined): Partial<BuildingParams> {
  const out: Partial<BuildingParams> = {};
  for (const p of raw ?? []) {
    const eq = p.indexOf('=');
    const name = p.slice(0, eq) as keyof BuildingParams;
    const value = Number(p.slice(eq + 1));
    if (eq < 0 || !(name in defaultParams)) throw new Error(`--param ${p}: expected <name>=<number> with name one of ${Object.keys(defaultParams).join(', ')}`);
    if (!Number.isFinite(value)) throw new Error(`--param ${p}: ${p.slice(eq + 1)} is not a number`);
    out[name] = value;
  }
  return out;
}

/** The models named by `--models` with parameter overrides. */
export function modelsFromFlags(name: string | undefined, params: Partial<BuildingParams>): TwinModel<any>[] {
  if ((name ?? 'building') !== 'building') throw new Error(`--models ${name}: only "building" is available`);
  return buildingModels(params);
}

/** Where worker threads import the same models from (see modelsFromFlags). */
export function modelSourceFromFlags(name: string | undefined, params: Partial<BuildingParams>): ModelSource {
  if ((name ?? 'building') !== 'building') throw new Error(`--models ${name}: only "building" is available`);
  return buildingModelSource(params);
}

function num(flag: string, raw: string | undefined, fallback: number, integer = false): number {
  return raw === undefined ? fallback : readNumber(`--${flag}`, raw, { integer });
}

/** Pacing and storage options of a replay from its flags. */
export function replayOptionsFromFlags(v: Record<string, unknown>): { speed: number; steps?: 'batch' | 'tick'; tickMs: number; tailMs: number; dataDir?: string; memory: boolean; workers: number } {
  if (v.max && v.speed !== undefined) throw new Error('--speed and --max exclude each other');
  const workers = num('workers', v.workers as string | undefined, 0, true);
  if (v.steps !== undefined && v.steps !== 'batch' && v.steps !== 'tick') throw new Error(`--steps must be batch or tick, got ${v.steps as string}`);
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
