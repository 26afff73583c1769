import { beforeAll, describe, expect, it } from 'vitest';
import type { DerivedEvent } from '../../src/index.js';
import { advance, buildingRuntime, WORKER_COUNTS } from '../support/runtime.js';

const FLOOR = '/org/contoso/site/berlin/building/41/floor/3';
const UNIT = `${FLOOR}/unit/j`;
const ROOM = `${UNIT}/room/4`;
const MIN = 60_000;

let workers = 0;

function setup(overrides = {}) {
  const { rt, clock } = buildingRuntime(workers, overrides);
  const out: DerivedEvent[] = [];
  rt.onOutput((e) => out.push(e));
  const types = () => out.map((e) => `${e.type} ${e.subject}`);
  return { rt, clock, out, types };
}

const climate = (room: string, temperature: number) => ({
  subject: `${room}/sensors/climate`,
  data: { temperature, humidity: 40 },
});

describe.each(WORKER_COUNTS)('building reactions at %i workers', (count) => {
  beforeAll(() => {
    workers = count;
  });

  describe('hvac.adjust on a floor', () => {
    it('fires once when the mean leaves 20 ± 2, clears within ± 1.5, and fires again', async () => {
      const { rt, out, types } = setup();
      for (const t of [21, 22.5, 23, 24, 22.5, 21.6, 21.4, 21, 17.9, 17]) await rt.ingest(climate(ROOM, t));
      expect(types()).toEqual([`hvac.adjust ${FLOOR}`, `hvac.adjust.cleared ${FLOOR}`, `hvac.adjust ${FLOOR}`]);
      expect(out[0]!.data).toEqual({ mode: 'cool', average: 22.5, setpoint: 20 });
      expect(out[1]!.data).toEqual({ average: 21.4, setpoint: 20 });
      expect(out[2]!.data).toEqual({ mode: 'heat', average: 17.9, setpoint: 20 });
      expect(await rt.get(FLOOR, 'hvac')).toBe('heat');
    });

    it('follows the floor mean over rooms, not a single room', async () => {
      const { rt, types } = setup();
      await rt.ingest([climate(ROOM, 25), climate(`${FLOOR}/unit/k/room/1`, 18)]);
      expect(await rt.get(FLOOR, 'temperature')).toBe(21.5);
      expect(types()).toEqual([]);
    });

    it('is emitted as a CloudEvent with the floor as subject and a time from the clock', async () => {
      const { rt, out } = setup();
      await rt.ingest(climate(ROOM, 30));
      expect(out[0]).toMatchObject({
        specversion: '1.0',
        type: 'hvac.adjust',
        source: FLOOR,
        subject: FLOOR,
        time: '2026-01-01T00:00:00.000Z',
        datacontenttype: 'application/json',
      });
      expect(typeof out[0]!.id).toBe('string');
    });

    it('uses the band it is given (what-if parameters)', async () => {
      const { rt, types } = setup({ hvacBand: 0.5, hvacClearBand: 0.25 });
      await rt.ingest(climate(ROOM, 21));
      expect(types()).toEqual([`hvac.adjust ${FLOOR}`]);
    });
  });

  describe('evacuation on a site', () => {
    it('fires once when any fire or gas alarm rises anywhere on the site, and clears when all fall', async () => {
      const { rt, out, types } = setup();
      const other = '/org/contoso/site/berlin/building/7/floor/1/unit/a/room/2';
      await rt.ingest({ subject: `${ROOM}/sensors/fire`, data: { alarm: true, smoke: 0.4 } });
      await rt.ingest({ subject: `${other}/sensors/gasbio`, data: { alarm: true, level: 0.9 } });
      await rt.ingest({ subject: `${ROOM}/sensors/fire`, data: { alarm: false, smoke: 0.01 } });
      expect(await rt.get('/org/contoso/site/berlin', 'alarmSources')).toEqual([`${other}/sensors/gasbio`]);
      await rt.ingest({ subject: `${other}/sensors/gasbio`, data: { alarm: false, level: 0.01 } });
      await rt.ingest({ subject: `${other}/sensors/gasbio`, data: { alarm: true, level: 0.8 } });
      expect(types()).toEqual([
        'evacuation /org/contoso/site/berlin',
        'evacuation.cleared /org/contoso/site/berlin',
        'evacuation /org/contoso/site/berlin',
      ]);
      expect(out[0]!.data).toEqual({ alarmSources: [`${ROOM}/sensors/fire`] });
      expect(await rt.get('/org/contoso', 'alarm')).toBe(true);
    });
  });

  describe('security.alert on a unit', () => {
    it('fires once when a room is occupied while the unit is secured, and again in a new episode', async () => {
      const { rt, types } = setup();
      await rt.command(UNIT, 'secure', true);
      expect(await rt.get(UNIT, 'secured')).toBe(true);
      await rt.ingest({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } });
      await rt.ingest({ subject: `${UNIT}/room/5/sensors/occupancy`, data: { occupied: true } });
      await rt.ingest({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: false } });
      await rt.ingest({ subject: `${UNIT}/room/5/sensors/occupancy`, data: { occupied: false } });
      await rt.ingest({ subject: `${ROOM}/sensors/occupancy`, data: { occupied: true } });
      await rt.command(UNIT, 'secure', false);
      expect(types()).toEqual([
        `security.alert ${UNIT}`,
        `security.alert.cleared ${UNIT}`,
        `security.alert ${UNIT}`,
        `security.alert.cleared ${UNIT}`,
      ]);
    });

    it('rejects a non-boolean secure command', async () => {
      const { rt } = setup();
      await expect(rt.command(UNIT, 'secure', 'yes')).rejects.toMatchObject({ code: 'TWIN_PAYLOAD_REJECTED' });
    });
  });

  describe('sensor.offline', () => {
    it('marks a silent sensor offline once per episode and recovers on the next reading', async () => {
      const { rt, clock, types } = setup();
      const sensor = `${ROOM}/sensors/climate`;
      await rt.ingest(climate(ROOM, 21));
      await advance(rt, clock, 9 * MIN);
      await rt.ingest(climate(ROOM, 21)); // resets the 10-minute deadline
      await advance(rt, clock, 9 * MIN);
      expect(await rt.get(sensor, 'status')).toBe('ok');
      await advance(rt, clock, 2 * MIN);
      expect(await rt.get(sensor, 'status')).toBe('offline');
      await advance(rt, clock, 60 * MIN);
      expect(types()).toEqual([`sensor.offline ${sensor}`]);
      await rt.ingest(climate(ROOM, 21));
      expect(await rt.get(sensor, 'status')).toBe('ok');
      await advance(rt, clock, 11 * MIN);
      expect(types()).toEqual([`sensor.offline ${sensor}`, `sensor.offline ${sensor}`]);
    });

    it('reports alarm status for fire and gas sensors', async () => {
      const { rt } = setup();
      await rt.ingest({ subject: `${ROOM}/sensors/fire`, data: { alarm: true } });
      expect(await rt.get(`${ROOM}/sensors/fire`, 'status')).toBe('alarm');
    });

    it('rejects readings of the wrong shape and keeps the last good one', async () => {
      const { rt } = setup();
      await rt.ingest(climate(ROOM, 21));
      const report = await rt.ingest([
        { subject: `${ROOM}/sensors/climate`, data: { temperature: '21' } },
        { subject: `${ROOM}/sensors/occupancy`, data: { occupied: 'yes' } },
        { subject: `${ROOM}/sensors/fire`, data: [1, 2] },
        { subject: `${ROOM}/sensors/climate`, data: { temperature: 21, humidity: Infinity } },
      ]);
      expect(report.rejected.map((r) => r.error.code)).toEqual(Array(4).fill('TWIN_PAYLOAD_REJECTED'));
      expect(report.rejected[0]!.error.message).toBe('"temperature" must be a finite number');
      expect(await rt.get(`${ROOM}/sensors/climate`, 'latest')).toEqual({ temperature: 21, humidity: 40 });
    });
  });
});
