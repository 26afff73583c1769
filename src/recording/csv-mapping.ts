/**
 * What `twinflow import` reads from a CSV file: the column mapping, where the rooms are
 * and how copies of the file spread over them. Plain data (JSON for `--mapping`), shared by
 * the sequential import and its worker threads.
 */

/** How a CSV column becomes a field of a reading. */
export interface CsvField {
  column: string;
  /**
   * `number` (default): a decimal such as `-1.5e3` (no hex, `Infinity` or blank), or
   * `boolean`: `1`/`true`/`yes` or `0`/`false`/`no`, any case. Cells are trimmed; any other
   * cell stops the import with an error naming its row and column.
   */
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
    {
      path: 'sensors/climate',
      fields: { temperature: { column: 'Temperature' }, humidity: { column: 'Humidity' }, co2: { column: 'CO2' } },
    },
    { path: 'sensors/occupancy', fields: { occupied: { column: 'Occupancy', type: 'boolean' } } },
  ],
};

export interface CsvImportOptions {
  /**
   * Room path template; `{i}` is the copy index, `{floor}` = floor(i / 10), `{room}` = i % 10.
   * Default `/org/uci/site/mons/building/1/floor/{floor}/unit/a/room/{room}`.
   */
  room?: string;
  /** Copies of the file spread over this many rooms (default 1, at most {@link MAX_FAN_OUT}). */
  fanOut?: number;
  /** Copy i is shifted by i × this many ms of event time (default 7 000, so rooms do not report in lockstep). */
  timeShiftMs?: number;
}

/**
 * The most rooms `--fan-out` spreads a file over. The rooms' paths (and subjects per sensor)
 * are built up front, and the merged order takes 8 bytes per (copy, row): 100 000 copies of
 * the UCI file are already 814 M events. More is refused rather than running out of memory.
 */
export const MAX_FAN_OUT = 100_000;

const TIME_FORMATS = ['local-as-utc', 'iso', 'epoch-ms', 'epoch-s'];

/**
 * Checks that `raw` (a parsed `--mapping` JSON file) has the shape of a {@link CsvMapping}
 * and returns it; otherwise throws an Error naming `what` and the first wrong field.
 *
 * @example
 * ```ts
 * checkCsvMapping({ time: { column: 'Date' } }, 'm.json');
 * // throws: m.json: "sensors" must be a list of { path, fields }, got undefined
 * ```
 */
export function checkCsvMapping(raw: unknown, what: string): CsvMapping {
  const wrong = (field: string, need: string, got: unknown): Error =>
    new Error(`${what}: "${field}" must be ${need}, got ${got === undefined ? 'undefined' : JSON.stringify(got)}`);
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(raw)) throw new Error(`${what}: must be a JSON object { time, sensors }, got ${JSON.stringify(raw)}`);
  const time = raw.time;
  if (!isObject(time)) throw wrong('time', 'an object { column, format? }', time);
  if (typeof time.column !== 'string') throw wrong('time.column', 'a string', time.column);
  if (time.format !== undefined && !TIME_FORMATS.includes(time.format as string))
    throw wrong('time.format', `one of ${TIME_FORMATS.join(', ')}`, time.format);
  if (raw.source !== undefined && typeof raw.source !== 'string') throw wrong('source', 'a string', raw.source);
  const sensors = raw.sensors;
  if (!Array.isArray(sensors)) throw wrong('sensors', 'a list of { path, fields }', sensors);
  sensors.forEach((s: unknown, i) => {
    if (!isObject(s)) throw wrong(`sensors[${i}]`, 'an object { path, fields }', s);
    if (typeof s.path !== 'string') throw wrong(`sensors[${i}].path`, 'a string', s.path);
    if (!isObject(s.fields)) throw wrong(`sensors[${i}].fields`, 'an object of { column, type? }', s.fields);
    for (const [name, f] of Object.entries(s.fields)) {
      const at = `sensors[${i}].fields.${name}`;
      if (name === '__proto__') throw new Error(`${what}: "${at}" is not a field name a reading can have`);
      if (!isObject(f)) throw wrong(at, 'an object { column, type? }', f);
      if (typeof f.column !== 'string') throw wrong(`${at}.column`, 'a string', f.column);
      if (f.type !== undefined && f.type !== 'number' && f.type !== 'boolean')
        throw wrong(`${at}.type`, '"number" or "boolean"', f.type);
    }
  });
  return raw as unknown as CsvMapping;
}

export const DEFAULT_ROOM_TEMPLATE = '/org/uci/site/mons/building/1/floor/{floor}/unit/a/room/{room}';

/** The room path of copy `i` (see {@link CsvImportOptions.room}). */
export function roomPathOf(template: string, i: number): string {
  return template
    .replaceAll('{i}', String(i))
    .replaceAll('{floor}', String(Math.floor(i / 10)))
    .replaceAll('{room}', String(i % 10));
}
