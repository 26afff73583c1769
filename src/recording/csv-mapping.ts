/**
 * What `twinflow import` reads from a CSV file: the column mapping, where the rooms are
 * and how copies of the file spread over them. Plain data (JSON for `--mapping`), shared by
 * the sequential import and its worker threads.
 */

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
  /** Copies of the file spread over this many rooms (default 1). */
  fanOut?: number;
  /** Copy i is shifted by i × this many ms of event time (default 7 000, so rooms do not report in lockstep). */
  timeShiftMs?: number;
}

export const DEFAULT_ROOM_TEMPLATE = '/org/uci/site/mons/building/1/floor/{floor}/unit/a/room/{room}';

/** The room path of copy `i` (see {@link CsvImportOptions.room}). */
export function roomPathOf(template: string, i: number): string {
  return template
    .replaceAll('{i}', String(i))
    .replaceAll('{floor}', String(Math.floor(i / 10)))
    .replaceAll('{room}', String(i % 10));
}
