import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TwinEvent } from '../../src/index.js';
import { parseCsv } from '../../src/recording/csv.js';
import {
  importCsv,
  roomPathOf,
  DEFAULT_ROOM_TEMPLATE,
  UCI_MAPPING,
  type CsvImportOptions,
  type CsvMapping,
} from '../../src/recording/csv-import.js';
import { planCsvImport } from '../../src/recording/csv-import-plan.js';

const CSV = fileURLToPath(new URL('../fixtures/uci-occupancy/datatraining.txt', import.meta.url));

/**
 * The importer's definition, written the plain way (as it was before the planned import):
 * every copy's events built copy by copy, row by row, sensor by sensor, then one stable
 * sort by time when there are several copies.
 */
function reference(text: string, mapping: CsvMapping, options: CsvImportOptions = {}): TwinEvent[] {
  const { header, rows } = parseCsv(text);
  const at = (c: string): number => header.indexOf(c);
  const fanOut = options.fanOut ?? 1;
  const shift = options.timeShiftMs ?? 7_000;
  const out: TwinEvent[] = [];
  for (let copy = 0; copy < fanOut; copy++) {
    const room = roomPathOf(options.room ?? DEFAULT_ROOM_TEMPLATE, copy);
    rows.forEach((row, n) => {
      const raw = row[at(mapping.time.column)]!;
      const time = mapping.time.format === 'epoch-ms' ? Number(raw) : Date.parse(raw.trim().replace(' ', 'T') + 'Z');
      for (const s of mapping.sensors) {
        const data: Record<string, unknown> = {};
        for (const [name, f] of Object.entries(s.fields)) {
          const cell = row[at(f.column)]!.trim();
          data[name] = f.type === 'boolean' ? ['1', 'true', 'yes'].includes(cell.toLowerCase()) : Number(cell);
        }
        out.push({
          id: String(n + 1),
          source: mapping.source ?? 'twinflow:import',
          type: 'reading',
          subject: `${room}/${s.path}`,
          time: time + copy * shift,
          data,
        });
      }
    });
  }
  return fanOut > 1 ? out.sort((a, b) => a.time - b.time) : out;
}

/** Three sensors, times out of file order with ties inside the file and across shifted copies. */
const SHUFFLED: CsvMapping = {
  time: { column: 't', format: 'epoch-ms' },
  sensors: [
    { path: 'a', fields: { x: { column: 'x' } } },
    { path: 'b', fields: { on: { column: 'on', type: 'boolean' }, y: { column: 'y' } } },
    { path: 'c', fields: { z: { column: 'z' } } },
  ],
};
const SHUFFLED_CSV = [
  't,x,on,y,z',
  ...[5, 3, 3, 9, 0, 5, 12, 1, 3, 7].map((t, i) => `${t * 1000},${i},${i % 2 ? 'yes' : '0'},${-i / 4},${i * 10}`),
].join('\r\n');

describe('importCsv', () => {
  it('gives the events of the plain definition, in the same order (UCI file, one and several copies)', () => {
    const text = readFileSync(CSV, 'utf8');
    for (const fanOut of [1, 12]) {
      // 12: copies 9 to 11 are shifted past the next row (one a minute)
      const events = importCsv(text, UCI_MAPPING, { fanOut });
      expect(events).toHaveLength(8143 * 2 * fanOut);
      expect(events).toEqual(reference(text, UCI_MAPPING, { fanOut }));
    }
  });

  it('orders copies by time with ties in copy, row and sensor order, for rows out of time order and any shift', () => {
    for (const timeShiftMs of [0, 1000, 2000, 7000, -3000]) {
      for (const fanOut of [1, 2, 5]) {
        const options = { fanOut, timeShiftMs, room: '/org/o/site/s/building/b/floor/f/unit/u/room/{i}' };
        expect(importCsv(SHUFFLED_CSV, SHUFFLED, options)).toEqual(reference(SHUFFLED_CSV, SHUFFLED, options));
      }
    }
  });

  it('counts its events before building them, and parses each row once for all copies', () => {
    const plan = planCsvImport(SHUFFLED_CSV, SHUFFLED, { fanOut: 4 });
    expect(plan.events).toBe(10 * 3 * 4);
    expect(plan.cells).toHaveLength(10 * 4); // 10 rows × 4 fields, not × 4 copies
    expect(planCsvImport(SHUFFLED_CSV, SHUFFLED, { fanOut: 0 }).events).toBe(0);
  });

  it('names the first bad column, time or cell in file order', () => {
    expect(() => importCsv('t,x\n1,2\n', SHUFFLED)).toThrow('CSV has no column "on" (columns: t, x)');
    expect(() => importCsv('t,x,on,y,z\n1,2,1,3,4\nsoon,2,1,3,4\n1,abc,1,3,4\n', SHUFFLED)).toThrow(
      'row 2: cannot read time "soon" as epoch-ms',
    );
    expect(() => importCsv('t,x,on,y,z\n1,2,1,3,4\n2,2,1,,4\n3,abc,1,3,4\n', SHUFFLED)).toThrow(
      'row 2: "y" is not a number: ""',
    );
  });

  it('reads booleans as 1/true/yes or 0/false/no in any case and numbers as decimals, and refuses any other cell', () => {
    // Sensor b's reading (fields on, y) of a one-row file.
    const one = (on: string, y: string) =>
      importCsv(`t,x,on,y,z\n1,0,${on},${y},0\n`, SHUFFLED)[1]!.data as Record<string, unknown>;
    for (const on of ['1', 'true', ' TRUE ', 'Yes']) expect(one(on, '0').on).toBe(true);
    for (const on of ['0', 'false', 'False', ' NO ']) expect(one(on, '0').on).toBe(false);
    for (const [y, n] of [
      ['-1.5e3', -1500],
      ['+2', 2],
      [' 0.25 ', 0.25],
      ['007', 7],
      ['1E-2', 0.01],
      ['.5', 0.5],
      ['-5.', -5],
    ] as const)
      expect(one('1', y).y).toBe(n);
    // Refused like a bad number cell always was: the row and column named, nothing imported.
    for (const on of ['maybe', '', '2', 'y', 'on', 'truthy'])
      expect(() => one(on, '0')).toThrow(`row 1: "on" is not a boolean: ${JSON.stringify(on)}`);
    for (const y of ['0x10', '0b1', '0o7', ' ', 'Infinity', '-Infinity', 'NaN', '1e400', '.', '-.e1', '1_000'])
      expect(() => one('1', y)).toThrow(`row 1: "y" is not a number: ${JSON.stringify(y)}`);
  });
});
