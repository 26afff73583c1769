import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from '../actors/clock.js';
import type { PassivationOptions } from '../actors/passivation.js';
import type { DerivedEvent, TwinLogger, TwinModel } from '../model/twin-model.js';
import { MemoryStateStore } from '../store/memory-store.js';
import type { StateStore } from '../store/state-store.js';
import { LmdbStateStore } from '../store/lmdb-store.js';
import { RecordingReader } from './recording-reader.js';
import { createLogger } from '../logger.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import type { ModelSource } from '../hosting/worker-protocol.js';
import type { ModelSet } from '../model/model-set.js';
import { loadModelSet } from '../model/model-set-import.js';
import { workerSource } from '../runtime/runtime-models.js';
import { stateDigest } from './digest.js';
import { replayInto, type EventChunks, type ReplayPacing, type ReplayStats } from './replayer.js';

export interface ReplayRunOptions extends ReplayPacing {
  /** The model set to replay into (or a module URL exporting one); worker threads import the same module. */
  modelSet?: ModelSet<any> | URL;
  /** The models, when not given as a `modelSet`. */
  models?: readonly TwinModel<any>[];
  /** LMDB data directory for the replayed state (must hold no twins). */
  dataDir?: string;
  /**
   * Keep state in memory instead of LMDB. Without `dataDir` this is the default: a replay's
   * state is usually thrown away, and writing it to disk only to delete it halves the rate.
   * Pass `memory: false` for a temp LMDB directory (bounds memory for very large fleets).
   */
  memory?: boolean;
  /** Shard worker threads (default 0: one shard on this thread); needs a `modelSet` with its module (or `modelSource`) when > 0. */
  workers?: number;
  /** With `models`: where worker threads import the same models from. */
  modelSource?: ModelSource;
  passivation?: PassivationOptions;
  logger?: TwinLogger;
  /** Keep every derived event in the result (what-if, tests); counts by type are always kept. */
  collectDerived?: boolean;
  /** Called with the runtime after the replay and before it closes (read lanes, assert). */
  inspect?: (rt: Runtime) => Promise<void> | void;
  /** Progress as a fraction of the recording file read (only when replaying a file). */
  onFraction?: (fraction: number, p: { events: number; wallMs: number }) => void;
}

/** What a replay run reports. */
export interface ReplayResult extends ReplayStats {
  eventsPerSecond: number;
  /** Virtual time covered divided by wall time. */
  speedUp: number;
  derivedByType: Record<string, number>;
  derived?: DerivedEvent[];
  digest: string;
  twins: number;
  /** The recording ended inside a chunk (a recorder was killed mid-write, or a damaged chunk length). */
  truncated: boolean;
  /** Why the recording was not read to its end ({@link RecordingReader.stopReason}), when `truncated`. */
  stopReason?: string;
}

/**
 * Replays a recording file (or event chunks) into a fresh runtime on a simulated clock
 * with its own store, then digests the final state. Nothing is shared with any other
 * runtime in the process, so a what-if run can go on beside a live node.
 *
 * @example
 * ```ts
 * const r = await runReplay('live.tfr', { modelSet: buildingModelSet, workers: 2 });
 * r.digest; r.eventsPerSecond; r.derivedByType['hvac.adjust'];
 * ```
 */
export async function runReplay(source: string | EventChunks, options: ReplayRunOptions): Promise<ReplayResult> {
  const workers = options.workers ?? 0;
  const modelSet = options.modelSet instanceof URL ? await loadModelSet(options.modelSet) : options.modelSet;
  // Before a store opens: models workers cannot import fail here, leaving nothing behind.
  workerSource({ models: options.models, modelSet, workers: { count: workers, models: options.modelSource } });
  const memory = options.memory ?? options.dataDir === undefined;
  const temp = !memory && !options.dataDir ? mkdtempSync(join(tmpdir(), 'twinflow-replay-')) : null;
  const dataDir = memory ? undefined : (options.dataDir ?? temp)!;
  let store: StateStore | undefined;
  if (memory) {
    store = new MemoryStateStore();
  } else {
    const lmdb = LmdbStateStore.open({ path: dataDir!, durability: 'relaxed' });
    if (lmdb.twinCount > 0) {
      await lmdb.close();
      throw new Error(`data directory ${options.dataDir} already holds twins; replay into an empty one`);
    }
    // With workers, each worker opens the directory itself.
    if (workers > 0) await lmdb.close();
    else store = lmdb;
  }
  const reader = typeof source === 'string' ? await RecordingReader.open(source) : null;
  const clock = new SimulatedClock(0);
  const rt = createRuntime({
    models: options.models,
    modelSet,
    clock,
    store,
    logger: options.logger ?? createLogger('warn'),
    passivation: options.passivation,
    workers: workers > 0 ? { count: workers, models: options.modelSource, dataDir, durability: 'relaxed' } : undefined,
  });
  const derivedByType: Record<string, number> = {};
  const derived: DerivedEvent[] | undefined = options.collectDerived ? [] : undefined;
  rt.onOutput((e) => {
    derivedByType[e.type] = (derivedByType[e.type] ?? 0) + 1;
    derived?.push(e);
  });
  try {
    const onFraction = options.onFraction;
    // A recording of a live runtime replays its ingest calls as steps unless told otherwise.
    const steps = options.steps ?? (reader?.header.batches ? 'batch' : 'tick');
    const stats = await replayInto(rt, clock, reader ? reader.chunks(steps === 'batch') : (source as EventChunks), {
      ...options,
      steps,
      onStep: (p) => {
        options.onStep?.(p);
        if (reader && onFraction) onFraction(reader.position / reader.size, p);
      },
    });
    const { digest, twins } = await stateDigest(rt);
    await options.inspect?.(rt);
    const virtualMs = stats.steps > 0 ? stats.lastTime - stats.firstTime + (options.tailMs ?? 0) : 0;
    return {
      ...stats,
      eventsPerSecond: stats.events / (stats.wallMs / 1000),
      speedUp: virtualMs / stats.wallMs,
      derivedByType: Object.fromEntries(Object.entries(derivedByType).sort(([a], [b]) => (a < b ? -1 : 1))),
      ...(derived ? { derived } : {}),
      digest,
      twins,
      truncated: reader?.truncated ?? false,
      ...(reader?.truncated ? { stopReason: reader.stopReason()! } : {}),
    };
  } finally {
    await rt.close();
    await reader?.close();
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
