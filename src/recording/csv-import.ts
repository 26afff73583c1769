import type { TwinEvent } from '../model/twin-model.js';
import { parseCsv } from './csv.js';

/** How a CSV column becomes a field of a reading. */
export interface CsvField {
  column: string;
  /** `number` (default) or `boolean` (`1`/`true`/`yes` are true). */
  type?: 'number' | 'boolean';
}

/**
 * Maps CSV rows to sensor readings: one row gives one event per sensor. JSON-serialisable,
 * so `twinflow import --mapping FILE.json` takes the same shape.
 */
export interface CsvMapping {
  time: {
    column: string;
    /** `local-as-utc` (default: `2015-02-04 17:51:00` without a zone, read as UTC), `iso`, `epoch-ms`, `epoch-s`. */
    format?: 'local-as-utc' | 'iso' | 'epoch-ms' | 'epoch-s';
  };
  /** Per sensor: its path under the room (`sensors/climate`) and its fields. */
  sensors: { path: string; fields: Record<string, CsvField> }[];
  /** CloudEvents `source` of the imported events (default `twinflow:import`). */
  source?: string;
}

/** The UCI occupancy files (test/fixtures/uci-occupancy): a climate and an occupancy sensor of one room. */
export const UCI_MAPPING: CsvMapping = {
  time: { column: 'Date', format: 'local-as-utc' },
  source: 'uci-occupancy',
  sensors: [
    { path: 'sensors/climate', fields: { temperature: { column: 'Temperature' }, humidity: { column: 'Humidity' }, co2: { column: 'CO2' } } },
    { path: 'sensors/occupancy', fields: { occupied: { column: 'Occupancy', type: 'boolean' } } },
  ],
};

export interface CsvImportOptions {
  /**
   * Room path template; `{i}` is the copy index, `{floor}` = floor(i / 10), `{room}` = i % 10.
   * Default `/org/uci/site/mons/building/1/floor/{floor}/unit/a/room/{room}`.
   */
  room?: string;
  /** Copies of the file spread over this many rooms (default 1). */
  fanOut?: number;
  /** Copy i is shifted by i × this many ms of event time (default 7 000, so rooms do not report in lockstep). */
  timeShiftMs?: number;
}

export const DEFAULT_ROOM_TEMPLATE = '/org/uci/site/mons/building/1/floor/{floor}/unit/a/room/{room}';

/** The room path of copy `i` (see {@link CsvImportOptions.room}). */
export function roomPathOf(template: string, i: number): string {
  return template.replaceAll('{i}', String(i)).replaceAll('{floor}', String(Math.floor(i / 10))).replaceAll('{room}', String(i % 10));
}

/**
 * Turns CSV text into readings, ordered by event time (copies interleaved; ties keep file,
 * copy and sensor order). Ids are `<row>` per sensor, so re-importing gives the same
 * events and a replay deduplicates nothing it should not.
 *
 * @example
 * ```ts
 * const events = importCsv(readFileSync('datatraining.txt', 'utf8'), UCI_MAPPING, { fanOut: 100 });
 * // 8,143 rows × 2 sensors × 100 rooms = 1,628,600 events
 * ```
 */
export function importCsv(text: string, mapping: CsvMapping, options: CsvImportOptions = {}): TwinEvent[] {
  const { header, rows } = parseCsv(text);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`CSV has no column "${name}" (columns: ${header.join(', ')})`);
    return i;
  };
  const timeCol = col(mapping.time.column);
  const sensors = mapping.sensors.map((s) => ({ path: s.path, fields: Object.entries(s.fields).map(([name, f]) => ({ name, at: col(f.column), bool: f.type === 'boolean' })) }));
  const times = rows.map((r, n) => parseTime(r[timeCol] ?? '', mapping.time.format ?? 'local-as-utc', n));
  const source = mapping.source ?? 'twinflow:import';
  const fanOut = options.fanOut ?? 1;
  const shift = options.timeShiftMs ?? 7_000;
  const template = options.room ?? DEFAULT_ROOM_TEMPLATE;
  const out: TwinEvent[] = [];
  for (let copy = 0; copy < fanOut; copy++) {
    const room = roomPathOf(template, copy);
    const subjects = sensors.map((s) => `${room}/${s.path}`);
    for (let n = 0; n < rows.length; n++) {
      const row = rows[n]!;
      for (let s = 0; s < sensors.length; s++) {
        const data: Record<string, unknown> = {};
        for (const f of sensors[s]!.fields) data[f.name] = cell(row[f.at], f.bool, n, f.name);
        out.push({ id: String(n + 1), source, type: 'reading', subject: subjects[s]!, time: times[n]! + copy * shift, data });
      }
    }
  }
  // Stable: equal times keep copy, row and sensor order.
  return fanOut > 1 ? out.sort((a, b) => a.time - b.time) : out;
}

function cell(raw: string | undefined, bool: boolean, row: number, name: string): number | boolean {
  const text = (raw ?? '').trim();
  if (bool) return text === '1' || text === 'true' || text === 'yes';
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) throw new Error(`row ${row + 1}: "${name}" is not a number: ${JSON.stringify(raw)}`);
  return n;
}

function parseTime(raw: string, format: NonNullable<CsvMapping['time']['format']>, row: number): number {
  let ms: number;
  switch (format) {
    case 'epoch-ms': ms = Number(raw); break;
    case 'epoch-s': ms = Number(raw) * 1000; break;
    case 'iso': ms = Date.parse(raw); break;
    default: ms = Date.parse(raw.trim().replace(' ', 'T') + 'Z');
  }
  if (!Number.isFinite(ms)) throw new Error(`row ${row + 1}: cannot read time ${JSON.stringify(raw)} as ${format}`);
  return ms;
}
