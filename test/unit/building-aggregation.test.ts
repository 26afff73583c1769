import { describe, expect, it } from 'vitest';
import { roomPaths, seeded, up } from '../support/fleet.js';
import { buildingRuntime, WORKER_COUNTS } from '../support/runtime.js';

const shape = { buildings: 2, floors: 3, units: 2, rooms: 3 };
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

describe.each(WORKER_COUNTS)(
  'recursive aggregation over a generated building (2 × 3 × 2 × 3 rooms × 4 sensors), %i workers',
  (workers) => {
    it('every level agrees with values computed directly from the readings, after several rounds of updates', async () => {
      const { rt } = buildingRuntime(workers);
      const rooms = roomPaths(shape);
      const random = seeded(42);
      const temps = new Map<string, number>();
      const occupied = new Map<string, boolean>();
      const alarms = new Map<string, boolean>();

      for (let round = 0; round < 4; round++) {
        const events = [];
        for (const room of rooms) {
          // Some rooms skip a round, so updates arrive in partial batches.
          if (round > 0 && random() < 0.3) continue;
          const t = Math.round((17 + random() * 8) * 10) / 10;
          const occ = random() < 0.5;
          const fire = random() < 0.05;
          temps.set(room, t);
          occupied.set(room, occ);
          alarms.set(room + '/sensors/fire', fire);
          events.push(
            { subject: room + '/sensors/climate', data: { temperature: t, humidity: 40 } },
            { subject: room + '/sensors/occupancy', data: { occupied: occ } },
            { subject: room + '/sensors/fire', data: { alarm: fire, smoke: 0.01 } },
            { subject: room + '/sensors/gasbio', data: { alarm: false, level: 0.01 } },
          );
        }
        const report = await rt.ingest(events);
        expect(report.rejected).toEqual([]);
      }

      const expectLevel = async (path: string, levelsUp: number) => {
        const under = rooms.filter((r) => up(r, levelsUp) === path);
        const snap = await rt.read(path);
        const t = snap.lanes.temperature as number;
        expect(t).toBeCloseTo(mean(under.map((r) => temps.get(r)!))!, 9);
        expect(snap.lanes.occupiedRooms).toBe(under.filter((r) => occupied.get(r)).length);
        expect(snap.lanes.unoccupiedRooms).toEqual(under.filter((r) => !occupied.get(r)).sort());
        const sources = under
          .map((r) => r + '/sensors/fire')
          .filter((s) => alarms.get(s))
          .sort();
        expect(snap.lanes.alarmSources).toEqual(sources);
        expect(snap.lanes.alarm).toBe(sources.length > 0);
      };

      for (const room of rooms) {
        const snap = await rt.read(room, ['temperature', 'occupied', 'alarm']);
        expect(snap.lanes).toEqual({
          temperature: temps.get(room),
          occupied: occupied.get(room),
          alarm: alarms.get(room + '/sensors/fire'),
        });
      }
      for (const unit of new Set(rooms.map((r) => up(r, 1)))) await expectLevel(unit, 1);
      for (const floor of new Set(rooms.map((r) => up(r, 2)))) await expectLevel(floor, 2);
      for (const building of new Set(rooms.map((r) => up(r, 3)))) await expectLevel(building, 3);

      const site = await rt.read('/org/contoso/site/berlin');
      const allSources = [...alarms]
        .filter(([, a]) => a)
        .map(([s]) => s)
        .sort();
      expect(site.lanes.alarmSources).toEqual(allSources);
      expect(site.lanes.alarm).toBe(allSources.length > 0);
      expect(await rt.get('/org/contoso', 'sites')).toEqual({ '/org/contoso/site/berlin': allSources.length > 0 });
    });

    it('answers the seed questions', async () => {
      const { rt } = buildingRuntime(workers);
      const unit = '/org/contoso/site/berlin/building/41/floor/3/unit/j';
      await rt.ingest([
        { subject: `${unit}/room/4/sensors/occupancy`, data: { occupied: true, count: 2 } },
        { subject: `${unit}/room/5/sensors/occupancy`, data: { occupied: false } },
        { subject: `${unit}/room/4/sensors/climate`, data: { temperature: 21, humidity: 40, co2: 650 } },
        { subject: `${unit}/room/5/sensors/climate`, data: { temperature: 22, humidity: 41 } },
        { subject: `${unit}/room/5/sensors/gasbio`, data: { alarm: false, level: 0.01 } },
      ]);
      expect(await rt.get(`${unit}/room/4`, 'occupied')).toBe(true); // is room 4 occupied?
      expect(await rt.get('/org/contoso/site/berlin/building/41', 'unoccupiedRooms')).toEqual([`${unit}/room/5`]);
      expect(await rt.get('/org/contoso/site/berlin', 'alarm')).toBe(false); // fire alarm on the site?
      expect(await rt.get(unit, 'temperature')).toBe(21.5); // temperature of unit 41 3J
    });

    it("keeps a stopped child's last value in its parent and does not double count on restart", async () => {
      const { rt } = buildingRuntime(workers);
      const room = '/org/o/site/s/building/1/floor/1/unit/a/room/1';
      await rt.ingest({ subject: room + '/sensors/climate', data: { temperature: 24, humidity: 40 } });
      for (const p of [room + '/sensors/climate', room]) await rt.stop(p);
      expect(await rt.get(up(room, 1), 'temperature')).toBe(24);
      await rt.ingest({ subject: room + '/sensors/occupancy', data: { occupied: true } });
      expect(await rt.read(up(room, 1), ['temperature', 'temperatureStats', 'occupiedRooms'])).toMatchObject({
        lanes: { temperature: 24, temperatureStats: { sum: 24, count: 1 }, occupiedRooms: 1 },
      });
    });

    it('rebuilds the transient unoccupiedRooms lists of units, floors and buildings when they restart', async () => {
      const { rt } = buildingRuntime(workers);
      const rooms = [
        '/org/o/site/s/building/1/floor/1/unit/a/room/1',
        '/org/o/site/s/building/1/floor/1/unit/a/room/2',
        '/org/o/site/s/building/1/floor/2/unit/b/room/1',
      ];
      await rt.ingest(rooms.map((r, i) => ({ subject: r + '/sensors/occupancy', data: { occupied: i === 1 } })));
      const levels = [up(rooms[0]!, 1), up(rooms[0]!, 2), up(rooms[0]!, 3)]; // unit, floor, building
      const before = await Promise.all(levels.map((p) => rt.get(p, 'unoccupiedRooms')));
      expect(before[2]).toEqual([rooms[0], rooms[2]]);
      for (const p of [...levels].reverse()) await rt.stop(p);
      for (let i = 0; i < levels.length; i++) expect(await rt.get(levels[i]!, 'unoccupiedRooms')).toEqual(before[i]);
    });

    it('aggregates bit-identically whatever order the same child updates arrive in (floating-point sums)', async () => {
      // Sums like these round differently in different orders ((a + b) + c vs (a + c) + b):
      // a parent applies a step's join updates in child-path order, not arrival order, which
      // is what keeps digests equal across worker counts (cross-shard joins arrive in an
      // order that depends on the workers).
      const unit = '/org/o/site/s/building/1/floor/1/unit/a';
      const temps = [18.77, 25.14, 21.3, 20.64, 25.41, 16.5, 23.62, 23.7, 24.28]; // sums 199.35999999999999 forwards, 199.36000000000004 backwards
      const readings = temps.map((t, i) => ({
        subject: `${unit}/room/${i}/sensors/climate`,
        id: `r${i}`,
        data: { temperature: t, humidity: 40 },
      }));
      const stats = [];
      for (const order of [readings, [...readings].reverse(), [...readings.slice(4), ...readings.slice(0, 4)]]) {
        const { rt } = buildingRuntime(workers);
        await rt.ingest(order); // one step: the unit gets all nine rooms' updates in one batch
        stats.push(await rt.get(unit, 'temperatureStats'));
      }
      expect(stats[1]).toEqual(stats[0]);
      expect(stats[2]).toEqual(stats[0]);
    });

    it("a twin that was only read or linked stays out of its parent's aggregates until it has state", async () => {
      // Any routed path can be read (GET /twins/…/room/999): that must not add a phantom
      // room to the unit's unoccupied list, nor leave state behind.
      const { rt } = buildingRuntime(workers);
      const unit = '/org/o/site/s/building/1/floor/1/unit/a';
      await rt.ingest({ subject: `${unit}/room/1/sensors/occupancy`, data: { occupied: false } });
      const seen: string[] = [];
      const wild = rt.linkFilter(`${unit}/room/*`, 'occupied', (_e, path) => seen.push(path));
      await wild.synced;
      await rt.read(`${unit}/room/999`);
      await rt.read(`${unit}/room/998/sensors/fire`);
      const link = rt.link(`${unit}/room/997`, 'occupied');
      await rt.settle();
      expect(await rt.get(unit, 'unoccupiedRooms')).toEqual([`${unit}/room/1`]);
      expect(Object.keys((await rt.get(unit, 'roomOccupied')) as object)).toEqual([`${unit}/room/1`]);
      link.close();
      // Nor do such twins stay live: reads of made-up paths cannot fill memory.
      const live = rt.stats().activeTwins;
      for (let i = 0; i < 50; i++) await rt.read(`${unit}/room/x${i}/sensors/climate`);
      await rt.settle();
      expect(rt.stats().activeTwins).toBeLessThanOrEqual(live);
      // Its first reading makes it real: now the unit counts it.
      await rt.ingest({ subject: `${unit}/room/999/sensors/occupancy`, data: { occupied: false } });
      await rt.settle();
      expect(await rt.get(unit, 'unoccupiedRooms')).toEqual([`${unit}/room/1`, `${unit}/room/999`]);
      // Wildcard links met room 999 only when it got state, and never the rooms only read.
      expect([...new Set(seen)].sort()).toEqual([`${unit}/room/1`, `${unit}/room/999`]);
      wild.close();
    });
  },
);
