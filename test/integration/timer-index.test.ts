import { open } from 'lmdb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, SimulatedClock, type DerivedEvent } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });
const ROOM = '/org/o/site/s/building/1/floor/1/unit/a/room/1';
const CLIMATE = `${ROOM}/sensors/climate`;
const OCCUPANCY = `${ROOM}/sensors/occupancy`;
const MIN = 60_000;
const reading = (subject: string, id: string) => ({
  subject,
  id,
  source: 'test',
  data: subject.endsWith('climate') ? { temperature: 21, humidity: 40 } : { occupied: true },
});

describe('durable timer index (LmdbStateStore.dueTwins)', () => {
  it('lists twins by the minute their earliest timer comes due, following re-arms and firings', async () => {
    const dir = tempDir();
    const clock = new SimulatedClock(T0);
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      clock,
      store: LmdbStateStore.open({ path: dir }),
    });
    await rt.ingest([reading(CLIMATE, 'a'), reading(OCCUPANCY, 'b')]); // offline timers at T0 + 10 min
    clock.advance(5 * MIN);
    await rt.ingest(reading(CLIMATE, 'c')); // the climate sensor's moves to T0 + 15 min
    await rt.settle();
    // Read through a store opened for each look: an lmdb-js store keeps its read snapshot
    // until its own next write or a timer tick, and this one never writes, so a store kept
    // open could still show the index as it was before the runtime's last commit.
    const due = async (until: number): Promise<string[]> => {
      const reader = LmdbStateStore.open({ path: dir });
      try {
        return reader.dueTwins(until).sort();
      } finally {
        await reader.close();
      }
    };
    expect(await due(T0 + 9 * MIN)).toEqual([]);
    expect(await due(T0 + 10 * MIN)).toEqual([OCCUPANCY]);
    expect(await due(T0 + 15 * MIN)).toEqual([CLIMATE, OCCUPANCY].sort());
    // Once a timer fired and nothing re-armed it, the twin leaves the index.
    clock.advance(6 * MIN);
    await rt.settle();
    expect(await rt.get(OCCUPANCY, 'status')).toBe('offline');
    expect(await due(T0 + 60 * MIN)).toEqual([CLIMATE]);
    await rt.close();
  });

  it('a restarted runtime fires timers of twins nobody touches, by itself', async () => {
    const dir = tempDir();
    const rt1 = createRuntime({
      models: buildingModels(),
      logger: silent,
      clock: new SimulatedClock(T0),
      store: LmdbStateStore.open({ path: dir }),
    });
    await rt1.ingest(reading(CLIMATE, 'a'));
    await rt1.close();

    const clock = new SimulatedClock(T0 + MIN);
    const store = LmdbStateStore.open({ path: dir });
    const rt2 = createRuntime({ models: buildingModels(), logger: silent, clock, store });
    const out: DerivedEvent[] = [];
    rt2.onOutput((e) => out.push(e));
    // No traffic and no reads: the shard scans the timer index at start and every minute.
    await rt2.settle();
    expect(out).toEqual([]);
    expect(rt2.activePaths()).toEqual([]);
    for (let m = 0; m < 10; m++) {
      clock.advance(MIN);
      await rt2.settle();
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.type).toBe('sensor.offline');
    expect(await rt2.get(CLIMATE, 'status')).toBe('offline');
    await rt2.close();
  });

  it('builds the index once for a data directory written before it existed', async () => {
    const dir = tempDir();
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      clock: new SimulatedClock(T0),
      store: LmdbStateStore.open({ path: dir }),
    });
    await rt.ingest(reading(CLIMATE, 'a'));
    await rt.close();
    // Make it look like an older directory: no index, no marker.
    const root = open({ path: dir, maxDbs: 8 });
    await root.openDB({ name: 'timers', encoding: 'string' }).clearAsync();
    await root.openDB({ name: 'timer-of', encoding: 'string' }).clearAsync();
    await root.openDB({ name: 'meta', encoding: 'msgpack' }).remove('timerIndex');
    await root.close();
    const store = LmdbStateStore.open({ path: dir });
    expect(store.dueTwins(T0 + 10 * MIN)).toEqual([CLIMATE]);
    await store.close();
  });
});
