/**
 * replay: events/s of `runReplay` (building model, state in memory as by default, and in
 * LMDB in a temp dir with relaxed durability; tick steps of 1 s) over a recording of the generated 40 k-sensor fleet
 * (1 M events; quick: 50 k), beside the raw rate of decoding the same file and updating
 * a plain Map in the same run; in memory at 0 and 2 worker threads beside core's events/s
 * measured in the same process (issue 18: replay should not cost more per event than live
 * ingest), with the digests of both worker counts checked equal; and the speed-up over
 * real time of the UCI recording.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildingModelSource, buildingModels } from '../models/index.js';
import { importCsv, UCI_MAPPING } from '../src/recording/csv-import.js';
import { generateFleet } from '../models/fleet.js';
import { RecordingReader } from '../src/recording/recording-reader.js';
import { RecordingWriter } from '../src/recording/recording-writer.js';
import { RECORDING_VERSION } from '../src/recording/recording-format.js';
import { runReplay } from '../src/recording/replay-run.js';
import { repeat, type BenchContext, type Figure } from './lib/harness.js';
import { coreEventsPerSecond } from './core.js';

const UCI = fileURLToPath(new URL('../../test/fixtures/uci-occupancy/datatraining.txt', import.meta.url));

async function write(file: string, chunks: Iterable<readonly import('../src/index.js').TwinEvent[]>): Promise<void> {
  const w = RecordingWriter.create(file, { created: 0 });
  for (const chunk of chunks) {
    for (const e of chunk) w.append(e);
    await w.ready();
  }
  await w.close();
}

/** Raw baseline: decode the file and keep each sensor's latest reading in a Map. */
async function decodeIntoMap(file: string): Promise<number> {
  const t0 = performance.now();
  const reader = await RecordingReader.open(file);
  const map = new Map<string, { latest: unknown; lastSeen: number }>();
  let n = 0;
  for await (const chunk of reader.chunks()) {
    for (const e of chunk) {
      const twin = map.get(e.subject);
      if (twin) {
        twin.latest = e.data;
        twin.lastSeen = e.time;
      } else {
        map.set(e.subject, { latest: e.data, lastSeen: e.time });
      }
      n++;
    }
  }
  await reader.close();
  return n / ((performance.now() - t0) / 1000);
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'twinflow-bench-replay-'));
  const logger = pino({ level: 'silent' });
  try {
    const events = ctx.quick ? 50_000 : 1_000_000;
    const fleet = join(dir, 'fleet.tfr');
    await write(fleet, generateFleet({ seed: 1, events }));
    const uci = join(dir, 'uci.tfr');
    await write(uci, [importCsv(readFileSync(UCI, 'utf8'), UCI_MAPPING)]);

    const runs = 3; // medians of 3; a full run replays 1 M events into a fresh LMDB (about a minute each)
    const baseline = await repeat(runs, () => decodeIntoMap(fleet));
    const digests = new Set<string>();
    const replayRate = (workers: number) => async (): Promise<number> => {
      const r = await runReplay(fleet, {
        models: buildingModels(),
        logger,
        ...(workers > 0 ? { workers, modelSource: buildingModelSource() } : {}),
      });
      digests.add(r.digest);
      return r.eventsPerSecond;
    };
    const ours = await repeat(runs, replayRate(0), false);
    const ours2 = await repeat(runs, replayRate(2), false);
    // The step rule: the same recording gives the same state at any worker count.
    if (digests.size !== 1)
      throw new Error(`replay: digests differ between 0 and 2 workers (${[...digests].join(', ')})`);
    const core = await coreEventsPerSecond({ quick: ctx.quick, runs });
    const oursLmdb = await repeat(
      runs,
      async () => (await runReplay(fleet, { models: buildingModels(), logger, memory: false })).eventsPerSecond,
      false,
    );
    // The 60 s-tick variant only in quick mode: three more 1 M-event replays would not fit the 15-minute budget.
    const oursTick60 = ctx.quick
      ? await repeat(
          runs,
          async () => (await runReplay(fleet, { models: buildingModels(), logger, tickMs: 60_000 })).eventsPerSecond,
          false,
        )
      : null;
    const speedUp = await repeat(
      runs,
      async () => (await runReplay(uci, { models: buildingModels(), logger })).speedUp,
    );
    const label = `${events / 1000}k events, 40k sensors`;
    return [
      {
        scenario: 'replay',
        figure: `events/s, ${label}, tick 1 s (state in memory, the default)`,
        unit: 'ev/s',
        ours,
        baseline,
        baselineName: 'decode + Map',
        target: { ratio: 0.7, cmp: '>=' },
        note: `the recording: ${(statSync(fleet).size / events).toFixed(1)} bytes per event (format ${RECORDING_VERSION})`,
      },
      {
        scenario: 'replay',
        figure: `replay in memory ÷ core events/s, 0 workers (${label}, tick 1 s)`,
        unit: 'ev/s',
        ours,
        baseline: core,
        baselineName: `core events/s, same process (${ctx.quick ? 20 : 40}k sensors)`,
        target: { ratio: 1, cmp: '>=' },
        note: `digest equal at 0 and 2 workers: ${[...digests][0]!.slice(0, 12)}`,
      },
      {
        scenario: 'replay',
        figure: `replay in memory ÷ core events/s, 2 workers (${label}, tick 1 s)`,
        unit: 'ev/s',
        ours: ours2,
        baseline: core,
        baselineName: `core events/s, 0 workers, same process`,
        note:
          os.cpus().length < 3
            ? `only ${os.cpus().length} cores: two workers share them with the replay's main thread (see shards)`
            : undefined,
      },
      {
        scenario: 'replay',
        figure: `events/s, ${label}, tick 1 s, state in LMDB (temp dir, relaxed)`,
        unit: 'ev/s',
        ours: oursLmdb,
        baseline,
        baselineName: 'decode + Map',
      },
      ...(oursTick60
        ? [
            {
              scenario: 'replay',
              figure: `events/s, ${label}, tick 60 s`,
              unit: 'ev/s',
              ours: oursTick60,
              baseline,
              baselineName: 'decode + Map',
              target: { value: 1_000_000, cmp: '>=' as const },
            },
          ]
        : []),
      {
        scenario: 'replay',
        figure: 'UCI datatraining (16k events, 5.6 days) speed-up',
        unit: 'x real time',
        ours: speedUp,
        target: { value: 1000, cmp: '>=' },
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
