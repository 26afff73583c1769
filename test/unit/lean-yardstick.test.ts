/**
 * The lean yardstick of bench/ (issue 18) holds the same state as the runtime after the
 * same events in the same steps: every twin's lanes compared through `Runtime.read`,
 * numbers bit for bit, windows one by one, and the derived events counted by type. The
 * events are made to exercise every reaction: alarms that rise and clear (evacuation), floor
 * means that leave and re-enter the band (hvac), secured units whose rooms fill (security),
 * silence (sensor.offline), hour boundaries (windows close), redeliveries and bad readings.
 */
import { open } from 'lmdb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { seededRandom } from '../../models/fleet.js';
import { createRuntime, jsonEquals, MemoryStateStore, SimulatedClock, type EventInput } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { LeanPersisted } from '../../bench/lean/lean-persisted.js';
import { tempDir } from '../support/tmp.js';
import { compareWithRuntime, countOutputs, derivedDiffs } from '../../bench/lean/compare.js';
import { LeanBuilding } from '../../bench/lean/lean-building.js';
import { leanTopology } from '../../bench/lean/topology.js';

const KINDS = ['climate', 'occupancy', 'fire', 'gasbio'] as const;
const T0 = Date.UTC(2026, 11, 1, 9, 50);

function fleet(): string[] {
  const out: string[] = [];
  for (let s = 0; s < 2; s++)
    for (let b = 0; b < 2; b++)
      for (let f = 0; f < 2; f++)
        for (let u = 0; u < 3; u++)
          for (let r = 0; r < 11; r++)
            // rooms 0…10: '10' sorts before '2'
            for (const k of KINDS)
              out.push(`/org/y/site/s${s}/building/b${b}/floor/${f}/unit/u${u}/room/${r}/sensors/${k}`);
  return out;
}

function batch(sensors: string[], rnd: () => number, n: number, step: number, now: number): EventInput[] {
  const bias = 20 + 5 * Math.sin(step / 2); // floor means drift out of the band and back
  const out: EventInput[] = [];
  for (let i = 0; i < n; i++) {
    const subject = sensors[Math.floor(rnd() * sensors.length)]!;
    const kind = subject.slice(subject.lastIndexOf('/') + 1);
    const data =
      kind === 'climate'
        ? { temperature: bias + (rnd() - 0.5) * 3, humidity: 40, co2: 500 }
        : kind === 'occupancy'
          ? { occupied: rnd() < 0.4, count: 1 }
          : { alarm: rnd() < 0.05, [kind === 'fire' ? 'smoke' : 'level']: rnd() };
    const bad = rnd() < 0.01;
    out.push({ subject, source: 'test', id: `${step}:${i}`, time: now + i, data: bad ? { temperature: 'hot' } : data });
    if (rnd() < 0.03) out.push({ ...out[out.length - 1]! }); // a redelivery: deduplicated
  }
  return out;
}

/** Clock time after persisted step i: minutes, with an hour boundary and a silence of 11 min. */
const step25 = (i: number): number => (i === 25 ? 11 * 60_000 : 3 * 60_000 + 7_000);

describe('lean yardstick (bench/lean)', () => {
  it('holds the same state and derived events as the runtime after the same steps', async () => {
    const sensors = fleet();
    const clock = new SimulatedClock(T0);
    const rt = createRuntime({
      models: buildingModels(),
      clock,
      logger: pino({ level: 'silent' }),
      store: new MemoryStateStore(),
    });
    const runtimeCounts = countOutputs(rt);
    const lean = new LeanBuilding(leanTopology(sensors));
    const rnd = seededRandom(3);
    const units = [...new Set(sensors.map((s) => s.slice(0, s.indexOf('/room/'))))];

    // Every sensor once (every twin gets state), then random steps.
    const first = sensors.map((subject, i) => batch([subject], seededRandom(i), 1, -1, T0)[0]!);
    await rt.ingest(first);
    await rt.settle();
    lean.step(first, 0, first.length, clock.now());
    lean.endStep();

    let rejected = 0;
    for (let step = 0; step < 40; step++) {
      if (step % 7 === 3) {
        // A command step: some units secured or unsecured.
        for (let k = 0; k < 4; k++) {
          const u = Math.floor(rnd() * units.length);
          const on = rnd() < 0.7;
          await rt.command(units[u]!, 'secure', on);
          await rt.settle();
          lean.secure(lean.topo.units.paths.indexOf(units[u]!), on, clock.now());
          lean.endStep();
        }
      }
      const events =
        step === 30 // all clear: every alarm falls (evacuation.cleared)
          ? sensors
              .filter((s) => !/climate|occupancy/.test(s))
              .map((subject, i) => ({ subject, source: 'test', id: `clear${i}`, data: { alarm: false } }))
          : batch(sensors, rnd, 300, step, clock.now());
      const report = await rt.ingest(events);
      rejected += report.rejected.length;
      await rt.settle();
      lean.step(events, 0, events.length, clock.now());
      lean.endStep();
      // 4 min per step: sensors go silent past 10 min, hours end (windows close).
      const ms = step === 20 ? 11 * 60_000 : 4 * 60_000 + Math.floor(rnd() * 1000);
      clock.advance(ms);
      await rt.settle();
      lean.advanceTo(clock.now());
    }
    clock.advance(11 * 60_000); // everything silent
    await rt.settle();
    lean.advanceTo(clock.now());

    expect(lean.rejected).toBe(rt.stats().turnFailures); // every failed turn here is a rejected reading
    expect(rejected).toBeGreaterThan(0);
    expect(lean.duplicates).toBe(rt.stats().duplicates);
    expect(lean.duplicates).toBeGreaterThan(0);
    const diffs = [...(await compareWithRuntime(rt, lean, true)), ...derivedDiffs(lean, runtimeCounts)];
    expect(diffs).toEqual([]);
    // The events did exercise every reaction.
    for (const type of [
      'sensor.offline',
      'hvac.adjust',
      'hvac.adjust.cleared',
      'security.alert',
      'security.alert.cleared',
      'evacuation',
      'evacuation.cleared',
    ])
      expect(runtimeCounts[type] ?? 0, type).toBeGreaterThan(0);
    await rt.close();
  }, 20_000);

  it('persisted: writes the records, entries and timer index the LMDB store of the runtime holds', async () => {
    const sensors = fleet().slice(0, 2 * 11 * 4 * 3); // two floors' worth, three units each
    const clock = new SimulatedClock(T0);
    const runtimeDir = tempDir();
    const store = LmdbStateStore.open({ path: runtimeDir, durability: 'relaxed' });
    const rt = createRuntime({ models: buildingModels(), clock, logger: pino({ level: 'silent' }), store });
    const leanDir = tempDir();
    const lean = new LeanPersisted(new LeanBuilding(leanTopology(sensors)), leanDir, 'relaxed');
    const rnd = seededRandom(5);
    const first = sensors.map((subject, i) => batch([subject], seededRandom(i), 1, -1, T0)[0]!);
    const steps = [first];
    for (let step = 0; step < 30; step++) steps.push(batch(sensors, rnd, 120, step, T0));
    for (const events of steps) {
      await rt.ingest(events);
      await rt.settle();
      await lean.run(events, events.length, () => clock.now());
      clock.advance(step25(steps.indexOf(events)));
      await rt.settle();
      lean.advanceTo(clock.now()); // the timers due by now, a step each
    }
    await rt.close();
    await lean.close();

    const dump = (path: string) => {
      const root = open({ path, maxDbs: 12 });
      const read = (name: string, encoding: 'msgpack' | 'string') => {
        const db = root.openDB<unknown, string>({
          name,
          encoding,
          sharedStructuresKey: Symbol.for('twinflow.structures'),
        });
        const out = new Map<string, unknown>();
        for (const { key, value } of db.getRange({})) if (typeof key === 'string') out.set(key, value);
        return out;
      };
      const out = {
        records: read('records', 'msgpack'),
        entries: read('entries', 'msgpack'),
        timers: read('timers', 'string'),
      };
      void root.close();
      return out;
    };
    const theirs = dump(runtimeDir);
    const ours = dump(leanDir);
    for (const db of ['records', 'entries', 'timers'] as const) {
      expect([...ours[db].keys()].sort(), db).toEqual([...theirs[db].keys()].sort());
      const differing = [...theirs[db]].filter(
        ([k, v]) => !jsonEquals(inlineInPathOrder(v), inlineInPathOrder(ours[db].get(k))),
      );
      expect(differing.slice(0, 3), db).toEqual([]);
    }
    expect(theirs.entries.size).toBeGreaterThan(0);
    // Joins held in records, and joins large enough to be entries (floors' lists of unoccupied rooms).
    expect([...theirs.records.values()].some((r) => (r as { $in?: unknown }).$in !== undefined)).toBe(true);
    expect([...theirs.entries.keys()].some((k) => k.includes('\u001fchildUnoccupied\u001f'))).toBe(true);
    // Windows closed (entries) and timers indexed: the run crossed an hour and went silent.
    expect([...theirs.entries.keys()].some((k) => k.includes('\u001fhourlyTemperature\u001f'))).toBe(true);
    expect(theirs.timers.size).toBeGreaterThan(0);
  }, 20_000);
});

/**
 * A record with its `$in` joins' entries in key order: a join holds its children in the
 * order they first announced, which differs between the runtime and the lean loop.
 */
function inlineInPathOrder(record: unknown): unknown {
  const inline = (record as { $in?: Record<string, unknown[]> } | undefined)?.$in;
  if (!inline) return record;
  const sorted: Record<string, unknown[]> = {};
  for (const [lane, encoded] of Object.entries(inline)) {
    const pairs: [string, unknown][] = [];
    for (let i = 1; i < encoded.length; i += 2) pairs.push([encoded[i] as string, encoded[i + 1]]);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    sorted[lane] = [encoded[0], ...pairs.flat()];
  }
  return { ...(record as object), $in: sorted };
}
