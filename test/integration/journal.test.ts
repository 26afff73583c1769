import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { createRuntime, SimulatedClock, startNode } from '../../src/index.js';
import { LmdbStateStore } from '../../src/store/lmdb-store.js';
import { T0 } from '../support/runtime.js';
import { tempDir } from '../support/tmp.js';

const silent = pino({ level: 'silent' });
const ROOM = '/org/o/site/s/building/1/floor/1/unit/a/room/1';
const MIN = 60_000;
const climate = (t: number, id: string) => ({
  subject: `${ROOM}/sensors/climate`,
  id,
  source: 'test',
  data: { temperature: t, humidity: 40 },
});

describe('journal, history and state as of a time', () => {
  it('refuses history and past-state reads with a rejected promise, never a synchronous throw', async () => {
    const rt = createRuntime({ models: buildingModels(), logger: pino({ level: 'silent' }) }); // no journal
    const calls = [() => rt.history('/org/o'), () => rt.readAt('/org/o', 0), () => rt.history('not a path')];
    for (const call of calls) {
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = call())).not.toThrow();
      await expect(pending).rejects.toMatchObject({
        code: expect.stringMatching(/^TWIN_(JOURNAL_DISABLED|PATH_INVALID)$/),
      });
    }
    await rt.close();
  });

  it('records each turn with its cause and rebuilds past states, across a restart', async () => {
    const dir = tempDir();
    const clock = new SimulatedClock(T0);
    const rt = createRuntime({
      models: buildingModels(),
      logger: silent,
      clock,
      journal: true,
      store: LmdbStateStore.open({ path: dir }),
    });
    await rt.ingest(climate(20, 'a'));
    clock.advance(MIN);
    await rt.ingest([
      climate(22, 'b'),
      { subject: `${ROOM}/sensors/occupancy`, id: 'c', source: 'test', data: { occupied: true } },
    ]);
    clock.advance(MIN);
    await rt.ingest(climate(25, 'd'));
    await rt.close();

    const rt2 = createRuntime({
      models: buildingModels(),
      logger: silent,
      clock,
      journal: true,
      store: LmdbStateStore.open({ path: dir }),
    });
    const sensorHistory = (await rt2.history(`${ROOM}/sensors/climate`)).entries;
    const events = sensorHistory.filter((e) => e.cause.kind === 'event');
    expect(events.map((e) => [e.time - T0, e.cause.id])).toEqual([
      [0, 'a'],
      [MIN, 'b'],
      [2 * MIN, 'd'],
    ]);
    expect(events[1]!.changes).toContainEqual([
      'latest',
      null,
      { temperature: 20, humidity: 40 },
      { temperature: 22, humidity: 40 },
    ]);
    const roomTurns = (await rt2.history(ROOM)).entries;
    expect(roomTurns.every((e) => e.cause.kind === 'join' || e.cause.kind === 'start')).toBe(true);
    expect((await rt2.history(ROOM, { from: T0 + MIN, to: T0 + MIN })).entries.length).toBeGreaterThan(0);

    expect((await rt2.readAt(ROOM, T0)).lanes).toMatchObject({ temperature: 20, occupied: false });
    expect((await rt2.readAt(ROOM, T0 + MIN)).lanes).toMatchObject({ temperature: 22, occupied: true });
    expect((await rt2.readAt(ROOM, T0 + 2 * MIN)).lanes).toMatchObject({ temperature: 25, occupied: true });
    // A map lane (the room's join of its sensors) rolls back per key.
    expect(Object.keys((await rt2.readAt(ROOM, T0)).lanes.sensors as object)).toEqual([`${ROOM}/sensors/climate`]);
    await rt2.close();
  });

  it('serves history and ?at= over HTTP', async () => {
    const clock = new SimulatedClock(T0);
    const node = await startNode({
      models: buildingModels(),
      port: 0,
      logger: silent,
      clock,
      dataDir: tempDir(),
      journal: true,
      mqtt: { port: 0 },
    });
    try {
      await node.runtime.ingest(climate(21, 'x'));
      clock.advance(MIN);
      await node.runtime.ingest(climate(23, 'y'));
      const path = ROOM.slice(1);
      const history = (await (
        await fetch(`${node.url}/twins/${path}/sensors/climate/history?from=${T0}&to=${T0 + MIN}`)
      ).json()) as { entries: { cause: { id?: string } }[] };
      expect(history.entries.map((e) => e.cause.id).filter(Boolean)).toEqual(['x', 'y']);
      const then = (await (
        await fetch(`${node.url}/twins/${path}?lanes=temperature&at=${new Date(T0).toISOString()}`)
      ).json()) as { lanes: unknown };
      expect(then.lanes).toEqual({ temperature: 21 });
      expect((await fetch(`${node.url}/twins/${path}?at=yesterday`)).status).toBe(400);
    } finally {
      await node.close();
    }
  });
});
