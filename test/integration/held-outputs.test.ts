/**
 * A runtime holds the derived events emitted before anyone listens (Runtime.onOutput,
 * holdOutputs): what every embedder gets, not only startNode. Timers that came due while the
 * process was down fire as soon as the shards start, on this thread or in the workers, so
 * before a listener subscribed after an await could exist; they went to nobody and were lost.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import {
  createRuntime,
  SimulatedClock,
  type DerivedEvent,
  type Runtime,
  type RuntimeOptions,
} from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { MemoryDeadLetters } from '../../src/node/ingest/dead-letters.js';
import { TopicMap } from '../../src/node/ingest/mqtt-message.js';
import { Outputs } from '../../src/node/outputs/outputs.js';
import { pollUntil } from '../support/poll.js';
import { T0, WORKER_COUNTS } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });
const MIN = 60_000;
const SENSORS = [1, 2].flatMap((b) =>
  [1, 2, 3, 4, 5, 6].map((r) => `/org/o/site/s/building/${b}/floor/1/unit/a/room/${r}/sensors/climate`),
);
const readings = SENSORS.map((subject) => ({ subject, data: { temperature: 21, humidity: 40 } }));
const offline = (events: readonly DerivedEvent[]): string[] =>
  events
    .filter((e) => e.type === 'sensor.offline')
    .map((e) => e.subject)
    .sort();

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});

/** The building model on `dataDir` (LMDB), on this thread or `workers` worker threads. */
function runtimeOn(dataDir: string, workers: number, options: Partial<RuntimeOptions> = {}): Runtime {
  const rt = createRuntime({
    models: buildingModels(),
    logger: silent,
    ...(workers > 0
      ? { workers: { count: workers, models: buildingModelSource(), dataDir } }
      : { store: LmdbStateStore.open({ path: dataDir }) }),
    ...options,
  });
  open.push(rt);
  return rt;
}

describe.each(WORKER_COUNTS)('outputs emitted before anyone listens (%i workers)', (workers) => {
  it('a restarted runtime keeps the overdue timers’ outputs for the listeners subscribed after its start', async () => {
    const dataDir = tempDir('tf-held-');
    // Offline timers armed an hour ago on a clock that never moves: overdue at the restart.
    const first = runtimeOn(dataDir, 0, { clock: new SimulatedClock(Date.now() - 60 * MIN) }); // written on this thread: quicker
    await first.ingest(readings);
    await first.settle();
    await first.close();

    const rt = runtimeOn(dataDir, workers); // the wall clock
    await rt.ready();
    // Every timer fired and its turn committed before anyone listens.
    await pollUntil(
      'the overdue timers fired',
      15_000,
      async () => rt.stats().outputs,
      (n) => n >= SENSORS.length,
    );
    await rt.settle();
    expect(rt.outputsHeld).toBe(SENSORS.length);
    const a: DerivedEvent[] = [];
    const b: DerivedEvent[] = [];
    rt.onOutput((e) => a.push(e));
    rt.onOutput((e) => b.push(e), { space: true }); // in the same synchronous run: it gets them too
    expect(a).toEqual([]); // handed over a microtask later, not inside onOutput
    await Promise.resolve();
    expect(offline(a)).toEqual([...SENSORS].sort());
    expect(b).toEqual(a);
    expect(rt.outputsHeld).toBe(0);
    expect(rt.outputsHeldDropped).toBe(0);
  });
});

describe('holding outputs', () => {
  /** A runtime on a simulated clock whose 12 sensors went offline (12 sensor.offline emitted) before `subscribe`. */
  async function silentSensors(options: Partial<RuntimeOptions> = {}, before?: (rt: Runtime) => void) {
    const clock = new SimulatedClock(T0);
    const rt = createRuntime({ models: buildingModels(), logger: silent, clock, ...options });
    open.push(rt);
    before?.(rt);
    await rt.ingest(readings);
    clock.advance(11 * MIN);
    await rt.settle();
    return { rt, clock };
  }

  it('holdOutputs: listeners subscribed across awaits each get every event once it is released, then live ones', async () => {
    let release!: () => void;
    const { rt, clock } = await silentSensors({}, (r) => (release = r.holdOutputs()));
    const a: string[] = [];
    const b: string[] = [];
    rt.onOutput((e) => a.push(e.subject));
    await new Promise((r) => setImmediate(r)); // the first listener alone would have had them here
    rt.onOutput((e) => b.push(e.subject), { space: true });
    await new Promise((r) => setImmediate(r));
    expect(a).toEqual([]);
    release();
    release(); // again: nothing
    expect(a.sort()).toEqual([...SENSORS].sort());
    expect(b.sort()).toEqual(a);
    // From now on each event goes out as its turn commits.
    await rt.ingest(readings[0]!);
    clock.advance(11 * MIN);
    await rt.settle();
    expect(a.filter((s) => s === SENSORS[0])).toHaveLength(2);
    expect(b).toHaveLength(SENSORS.length + 1);
  });

  it('keeps at most heldOutputs events, the newest, and counts the ones it dropped', async () => {
    const { rt } = await silentSensors({ heldOutputs: 5 });
    expect(rt.outputsHeld).toBe(5);
    expect(rt.outputsHeldDropped).toBe(SENSORS.length - 5);
    const seen: DerivedEvent[] = [];
    rt.onOutput((e) => seen.push(e));
    // A node's sinks count what they never got in their `dropped` (twinflow_output_dropped_total).
    const sink = { name: 'test', deliver: async (e: DerivedEvent) => void delivered.push(e) };
    const delivered: DerivedEvent[] = [];
    const outputs = new Outputs(rt, new MemoryDeadLetters(), silent, { sinks: [sink] }, null, new TopicMap());
    await Promise.resolve();
    expect(seen).toHaveLength(5);
    await outputs.idle();
    expect(delivered).toEqual(seen);
    expect(outputs.stats()).toMatchObject({ test: { delivered: 5, dropped: SENSORS.length - 5 } });
    outputs.close();
  });

  it('heldOutputs 0 holds nothing: an event emitted before the first listener goes to nobody', async () => {
    const { rt } = await silentSensors({ heldOutputs: 0 });
    expect(rt.outputsHeld).toBe(0);
    const seen: DerivedEvent[] = [];
    rt.onOutput((e) => seen.push(e));
    await Promise.resolve();
    expect(seen).toEqual([]);
  });

  it('a listener subscribed right after createRuntime gets every event as it comes (as before)', async () => {
    const seen: string[] = [];
    const { rt } = await silentSensors({}, (r) => r.onOutput((e) => seen.push(e.subject)));
    expect(seen.sort()).toEqual([...SENSORS].sort());
    expect(rt.outputsHeld).toBe(0);
  });

  it('a listener that throws neither stops the others nor the delivery of held events', async () => {
    const { rt } = await silentSensors();
    const seen: string[] = [];
    rt.onOutput(() => {
      throw new Error('boom');
    });
    rt.onOutput((e) => seen.push(e.subject));
    await Promise.resolve();
    expect(seen).toHaveLength(SENSORS.length);
  });
});
