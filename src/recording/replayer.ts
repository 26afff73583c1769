import type { SimulatedClock } from '../actors/clock.js';
import type { TwinEvent } from '../model/twin-model.js';
import type { Runtime } from '../runtime/runtime.js';
import { recordedCommand } from '../runtime/recorded-command.js';

/** How a replay cuts the recording into steps and paces them (see docs/replay.md, "the step rule"). */
export interface ReplayPacing {
  /**
   * `tick` (default): steps by event time, see {@link tickMs}. `batch`: every array the
   * source yields is one step (a recorded ingest call, see `RecordingReader.chunks(true)`)
   * and runs with the clock at the latest event time in it, as the live runtime did.
   */
  steps?: 'tick' | 'batch';
  /**
   * Width of a virtual-time step in ms of event time (default 1000). Events are taken in
   * recorded order; a step holds the consecutive events whose tick (`floor(time / tickMs)
   * * tickMs`) is not later than the step's tick, and runs with the clock at that tick.
   * 0: every distinct timestamp is its own tick. Use a tick that divides window sizes.
   */
  tickMs?: number;
  /** Most events per step (default 50 000, the shard's step budget): bounds memory. */
  maxStep?: number;
  /** 0 or absent: as fast as possible; N: N times real time (virtual ms per wall ms). */
  speed?: number;
  /** After the last event, advance virtual time this much more (fires timers, closes windows). */
  tailMs?: number;
  /** Called after every step (cheap: render throttled on the caller's side). */
  onStep?: (p: ReplayProgress) => void;
  signal?: AbortSignal;
}

export interface ReplayProgress {
  events: number;
  steps: number;
  /** Virtual time of the step just run. */
  virtualTime: number;
  wallMs: number;
}

/** Counters of one replay loop. */
export interface ReplayStats {
  events: number;
  accepted: number;
  rejected: number;
  steps: number;
  /** Event time of the first and last step (NaN when the recording is empty). */
  firstTime: number;
  lastTime: number;
  wallMs: number;
}

export type EventChunks = AsyncIterable<readonly TwinEvent[]> | Iterable<readonly TwinEvent[]>;

/**
 * Feeds recorded events into a runtime whose clock is `clock`, step by step in virtual
 * time: advance the clock to the step's tick (due timers fire, each at its own time),
 * ingest the step's events in one call, await its commit, repeat. Uses only the Runtime
 * API, so any runtime (one shard or worker shards that honour the same step rule) gives
 * the same result for the same recording and model.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock(0);
 * const rt = createRuntime({ models: buildingModels(), clock });
 * const reader = await RecordingReader.open('live.tfr');
 * const stats = await replayInto(rt, clock, reader.chunks(), { tickMs: 1000 });
 * ```
 */
export async function replayInto(
  rt: Runtime,
  clock: SimulatedClock,
  chunks: EventChunks,
  pacing: ReplayPacing = {},
): Promise<ReplayStats> {
  const tickMs = pacing.tickMs ?? 1000;
  const maxStep = pacing.maxStep ?? 50_000;
  const speed = pacing.speed ?? 0;
  const started = performance.now();
  const stats: ReplayStats = {
    events: 0,
    accepted: 0,
    rejected: 0,
    steps: 0,
    firstTime: NaN,
    lastTime: NaN,
    wallMs: 0,
  };
  let step: TwinEvent[] = [];
  let tick = -Infinity;

  const run = async (): Promise<void> => {
    if (step.length === 0) return;
    pacing.signal?.throwIfAborted();
    const at = Math.max(clock.now(), tick);
    if (stats.steps === 0) stats.firstTime = at;
    if (speed > 0) await pace(started, (at - stats.firstTime) / speed);
    clock.advanceTo(at);
    const batch = step;
    step = [];
    // The step rule: virtual time moves on only when every shard finished this step
    // (with worker threads, joins between shards are delivered at this boundary). A step
    // of events only is settled while its ingest is in flight: the settle request follows
    // the events to each worker and is answered once they are committed, so a step costs
    // one round trip to the workers, not two. Recorded commands go after the events
    // before them (see feedStep), so such a step settles after feeding.
    if (hasCommand(batch)) {
      await feedStep(rt, batch, stats);
      await rt.settle();
    } else {
      const fed = feedStep(rt, batch, stats); // (every event is submitted before this returns)
      await rt.settle();
      await fed; // settled: its tickets resolved with the commit
    }
    stats.events += batch.length;
    stats.steps++;
    stats.lastTime = at;
    pacing.onStep?.({ events: stats.events, steps: stats.steps, virtualTime: at, wallMs: performance.now() - started });
  };

  const byBatch = pacing.steps === 'batch';
  for await (const chunk of chunks) {
    if (byBatch) {
      for (let i = 0; i < chunk.length; i += maxStep) {
        step = chunk.slice(i, i + maxStep);
        tick = -Infinity;
        for (const e of step) if (e.time > tick) tick = e.time;
        await run();
      }
      continue;
    }
    for (const e of chunk) {
      const t = tickMs > 0 ? Math.floor(e.time / tickMs) * tickMs : e.time;
      // A late event (earlier tick than the current one) joins the current step, as it did live.
      if (t > tick) {
        await run();
        tick = t;
      } else if (step.length >= maxStep) {
        await run();
      }
      step.push(e);
    }
  }
  await run();
  if (pacing.tailMs && stats.steps > 0) {
    await rt.settle();
    clock.advanceTo(clock.now() + pacing.tailMs);
  }
  await rt.settle();
  stats.wallMs = performance.now() - started;
  return stats;
}

function hasCommand(batch: readonly TwinEvent[]): boolean {
  for (let i = 0; i < batch.length; i++) if (recordedCommand(batch[i]!)) return true;
  return false;
}

/**
 * Ingests one step. Recorded commands (see recorded-command.ts) are sent as commands at
 * their place: the events before them go first, as one ingest call, then the command.
 */
async function feedStep(rt: Runtime, batch: readonly TwinEvent[], stats: ReplayStats): Promise<void> {
  let from = 0;
  const ingest = async (to: number): Promise<void> => {
    if (to <= from) return;
    const report = await rt.ingest(from === 0 && to === batch.length ? batch : batch.slice(from, to));
    stats.accepted += report.accepted;
    stats.rejected += report.rejected.length;
  };
  for (let i = 0; i < batch.length; i++) {
    const command = recordedCommand(batch[i]!);
    if (!command) continue;
    await ingest(i);
    from = i + 1;
    try {
      await rt.command(command.path, command.lane, command.value);
      stats.accepted++;
    } catch {
      stats.rejected++; // rejected live too, or by a changed model in a what-if
    }
  }
  await ingest(batch.length);
}

async function pace(started: number, targetMs: number): Promise<void> {
  const wait = targetMs - (performance.now() - started);
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}
