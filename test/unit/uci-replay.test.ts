import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { parseCsv } from '../../src/recording/csv.js';
import type { WindowResult } from '../../src/index.js';
import { advance, simulatedRuntime } from '../support/runtime.js';

const HOUR = 3_600_000;
const ROOM = '/org/uci/site/mons/building/1/floor/1/unit/a/room/1';
const CSV = fileURLToPath(new URL('../fixtures/uci-occupancy/datatraining.txt', import.meta.url));

/** Rows of the UCI file; timestamps are local time without a zone and are read as UTC. */
function uciRows(limit: number) {
  const { header, rows } = parseCsv(readFileSync(CSV, 'utf8'));
  expect(header).toEqual(['Date', 'Temperature', 'Humidity', 'Light', 'CO2', 'HumidityRatio', 'Occupancy']);
  return rows.slice(0, limit).map((r) => ({
    time: Date.parse(r[0]!.replace(' ', 'T') + 'Z'),
    temperature: Number(r[1]),
    humidity: Number(r[2]),
    co2: Number(r[4]),
    occupied: r[6] === '1',
  }));
}

describe('replay of the UCI occupancy recording into one room', () => {
  it('gives tumbling 1-hour temperature averages equal to ones computed from the CSV', async () => {
    const rows = uciRows(2000);
    expect(rows).toHaveLength(2000);
    const { rt, clock } = simulatedRuntime({
      models: buildingModels({ offlineAfter: 24 * HOUR }),
      start: rows[0]!.time,
    });

    for (const [i, row] of rows.entries()) {
      await rt.settle();
      clock.advanceTo(row.time);
      const report = await rt.ingest([
        {
          subject: `${ROOM}/sensors/climate`,
          id: `c${i}`,
          source: 'uci',
          time: row.time,
          data: { temperature: row.temperature, humidity: row.humidity, co2: row.co2 },
        },
        {
          subject: `${ROOM}/sensors/occupancy`,
          id: `o${i}`,
          source: 'uci',
          time: row.time,
          data: { occupied: row.occupied },
        },
      ]);
      expect(report.rejected).toEqual([]);
    }
    await advance(rt, clock, HOUR); // closes the last window

    // Independent computation: group the CSV rows by UTC hour.
    const expected = new Map<number, number[]>();
    for (const row of rows) {
      const hour = Math.floor(row.time / HOUR) * HOUR;
      expected.set(hour, [...(expected.get(hour) ?? []), row.temperature]);
    }

    const windows = Object.values(
      (await rt.get(`${ROOM}/sensors/climate`, 'hourlyTemperature')) as Record<string, WindowResult>,
    );
    expect(windows.every((w) => w.closed)).toBe(true);
    expect(windows.map((w) => w.start)).toEqual([...expected.keys()].slice(-windows.length));
    expect(windows.length).toBeGreaterThanOrEqual(30);
    for (const w of windows) {
      const temps = expected.get(w.start)!;
      expect(w.count).toBe(temps.length);
      expect(w.avg!).toBeCloseTo(temps.reduce((a, b) => a + b, 0) / temps.length, 9);
      expect(w.min).toBe(Math.min(...temps));
      expect(w.max).toBe(Math.max(...temps));
    }

    const last = rows[rows.length - 1]!;
    expect(await rt.read(ROOM, ['temperature', 'occupied'])).toMatchObject({
      lanes: { temperature: last.temperature, occupied: last.occupied },
    });
  });
});
