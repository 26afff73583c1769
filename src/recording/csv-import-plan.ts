import { parseCsv, shownCell, shownColumns } from './csv.js';
import {
  DEFAULT_ROOM_TEMPLATE,
  MAX_FAN_OUT,
  roomPathOf,
  type CsvImportOptions,
  type CsvMapping,
} from './csv-mapping.js';

/** A sensor of the mapping: its path under the room and its fields, in mapping order. */
export interface PlannedSensor {
  path: string;
  fields: string[];
  /** Per field: a boolean (stored as 0/1 in {@link CsvImportPlan.cells}). */
  bools: boolean[];
}

/**
 * A CSV import worked out once: every cell typed, every row time read, and the order of
 * the output events, without building the events. Plain data and typed arrays, so a
 * worker thread can receive it (or a {@link slicePlan}) by structured clone.
 *
 * The output is a sequence of slots, one per (copy, row) in event-time order; a slot
 * gives one event per sensor, in mapping order, so event `k` is sensor `k % sensors` of
 * slot `floor(k / sensors)`. Copies of a row differ only in room, time and nothing else,
 * which is why the cells are parsed once and not once per copy.
 */
export interface CsvImportPlan {
  /** CloudEvents `source` of every event. */
  source: string;
  sensors: PlannedSensor[];
  /** Typed cells, row-major: row n, field f (over all sensors in order) at `n × width + f`. */
  cells: Float64Array;
  width: number;
  /** Event time of each row (epoch ms), copy 0. */
  rowTimes: Float64Array;
  /** Room path of each copy. */
  rooms: string[];
  /** Copy c is shifted by c × shiftMs. */
  shiftMs: number;
  /** Slot firstSlot + i is row slotRow[i] of copy slotCopy[i]. */
  slotCopy: Uint32Array;
  slotRow: Uint32Array;
  /** Global index of the first slot held (0, or where a worker's slice starts). */
  firstSlot: number;
  /** Events of the whole import (slots × sensors), slices included. */
  events: number;
}

/**
 * Reads and types the CSV and orders its copies. Errors are the ones a user can fix, in
 * file order: a missing column, then a bad time, then a bad cell.
 *
 * @example
 * ```ts
 * const plan = planCsvImport(text, UCI_MAPPING, { fanOut: 100 });
 * plan.events; // 8,143 rows × 2 sensors × 100 rooms = 1,628,600
 * ```
 */
export function planCsvImport(text: string, mapping: CsvMapping, options: CsvImportOptions = {}): CsvImportPlan {
  if (options.fanOut !== undefined && !(options.fanOut <= MAX_FAN_OUT))
    throw new RangeError(`fan-out must be at most ${MAX_FAN_OUT} rooms, got ${options.fanOut}`);
  const { header, rows } = parseCsv(text);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`CSV has no column "${name}" (columns: ${shownColumns(header)})`);
    return i;
  };
  const timeCol = col(mapping.time.column);
  const columns: { at: number; name: string; bool: boolean }[] = [];
  const sensors: PlannedSensor[] = mapping.sensors.map((s) => {
    const fields = Object.entries(s.fields).map(([name, f]) => ({
      name,
      at: col(f.column),
      bool: f.type === 'boolean',
    }));
    columns.push(...fields);
    return { path: s.path, fields: fields.map((f) => f.name), bools: fields.map((f) => f.bool) };
  });
  const format = mapping.time.format ?? 'local-as-utc';
  const rowTimes = new Float64Array(rows.length);
  for (let n = 0; n < rows.length; n++) rowTimes[n] = parseTime(rows[n]![timeCol] ?? '', format, n);
  const width = columns.length;
  const cells = new Float64Array(rows.length * width);
  for (let n = 0; n < rows.length; n++) {
    for (let f = 0; f < width; f++)
      cells[n * width + f] = cell(rows[n]![columns[f]!.at], columns[f]!.bool, n, columns[f]!.name);
  }
  const fanOut = Math.max(0, options.fanOut ?? 1);
  const shiftMs = options.timeShiftMs ?? 7_000;
  const template = options.room ?? DEFAULT_ROOM_TEMPLATE;
  const rooms = Array.from({ length: fanOut }, (_, i) => roomPathOf(template, i));
  const { slotCopy, slotRow } = slotOrder(rowTimes, fanOut, shiftMs);
  return {
    source: mapping.source ?? 'twinflow:import',
    sensors,
    cells,
    width,
    rowTimes,
    rooms,
    shiftMs,
    slotCopy,
    slotRow,
    firstSlot: 0,
    events: slotCopy.length * sensors.length,
  };
}

/**
 * The part of `plan` that events [from, to) need: the slot arrays are copied (not
 * views), so a structured clone of the slice does not carry the whole order along.
 *
 * @example
 * ```ts
 * const part = slicePlan(plan, 65_536, 131_072); // for a worker: events 65,536 to 131,071
 * forEachPlannedEvent(part, 65_536, 131_072, visit); // same events as on the whole plan
 * ```
 */
export function slicePlan(plan: CsvImportPlan, from: number, to: number): CsvImportPlan {
  const per = plan.sensors.length;
  const first = Math.floor(from / per) - plan.firstSlot;
  const end = Math.ceil(to / per) - plan.firstSlot;
  return {
    ...plan,
    slotCopy: plan.slotCopy.slice(first, end),
    slotRow: plan.slotRow.slice(first, end),
    firstSlot: plan.firstSlot + first,
  };
}

/**
 * Visits events [from, to) of the plan in output order. `data` is a fresh object per
 * event (callers keep or mutate it); type is always `reading` and source `plan.source`.
 *
 * @example
 * ```ts
 * forEachPlannedEvent(plan, 0, plan.events, (time, subject, id, data) => {
 *   events.push({ id, source: plan.source, type: 'reading', subject, time, data });
 * });
 * ```
 */
export function forEachPlannedEvent(
  plan: CsvImportPlan,
  from: number,
  to: number,
  visit: (time: number, subject: string, id: string, data: Record<string, number | boolean>) => void,
): void {
  const { sensors, cells, width, rowTimes, rooms, shiftMs, slotCopy, slotRow } = plan;
  const per = sensors.length;
  const subjects = rooms.flatMap((room) => sensors.map((s) => `${room}/${s.path}`));
  const offsets: number[] = [];
  for (let s = 0, o = 0; s < per; o += sensors[s]!.fields.length, s++) offsets.push(o);
  const ids: string[] = [];
  for (let k = from; k < to; k++) {
    const slot = Math.floor(k / per);
    const s = k - slot * per;
    const copy = slotCopy[slot - plan.firstSlot]!;
    const n = slotRow[slot - plan.firstSlot]!;
    const sensor = sensors[s]!;
    const data: Record<string, number | boolean> = {};
    const base = n * width + offsets[s]!;
    for (let f = 0; f < sensor.fields.length; f++)
      data[sensor.fields[f]!] = sensor.bools[f] ? cells[base + f] !== 0 : cells[base + f]!;
    visit(rowTimes[n]! + copy * shiftMs, subjects[copy * per + s]!, (ids[n] ??= String(n + 1)), data);
  }
}

/**
 * The slots in output order: one copy keeps file order (as the importer always did);
 * several are merged by event time, ties in copy then row order, which is the order a
 * stable sort of all events by time would give, at a fraction of its cost.
 */
function slotOrder(
  rowTimes: Float64Array,
  copies: number,
  shiftMs: number,
): { slotCopy: Uint32Array; slotRow: Uint32Array } {
  const rows = rowTimes.length;
  const slotCopy = new Uint32Array(copies * rows);
  const slotRow = new Uint32Array(copies * rows);
  if (copies === 1) {
    for (let n = 0; n < rows; n++) slotRow[n] = n;
    return { slotCopy, slotRow };
  }
  if (copies === 0 || rows === 0) return { slotCopy, slotRow };
  // Rows by time, ties in file order; every copy is this sequence shifted.
  const byTime = Uint32Array.from({ length: rows }, (_, n) => n);
  if (!isSorted(rowTimes)) byTime.sort((a, b) => rowTimes[a]! - rowTimes[b]! || a - b);
  // A k-way merge of the copies: a binary heap of (time of the copy's next row, copy),
  // smallest first, ties to the lower copy. Parallel typed arrays and inline comparisons:
  // this loop runs once per slot (814 k times for the UCI file × 100).
  const next = new Uint32Array(copies);
  const keys = Float64Array.from({ length: copies }, (_, c) => rowTimes[byTime[0]!]! + c * shiftMs);
  const heap = Uint32Array.from({ length: copies }, (_, c) => c);
  let size = copies;
  const siftDown = (from: number, key: number, copy: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      let m = l;
      const r = l + 1;
      if (r < size && (keys[r]! < keys[l]! || (keys[r] === keys[l] && heap[r]! < heap[l]!))) m = r;
      if (!(keys[m]! < key || (keys[m] === key && heap[m]! < copy))) break;
      keys[i] = keys[m]!;
      heap[i] = heap[m]!;
      i = m;
    }
    keys[i] = key;
    heap[i] = copy;
  };
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(i, keys[i]!, heap[i]!);
  for (let k = 0; size > 0; k++) {
    const c = heap[0]!;
    slotCopy[k] = c;
    slotRow[k] = byTime[next[c]!]!;
    if (++next[c]! < rows) siftDown(0, rowTimes[byTime[next[c]!]!]! + c * shiftMs, c);
    else if (--size > 0) siftDown(0, keys[size]!, heap[size]!);
  }
  return { slotCopy, slotRow };
}

function isSorted(xs: Float64Array): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]! < xs[i - 1]!) return false;
  return true;
}

/** Spellings of a boolean cell, compared trimmed and lower-cased. */
const TRUE_CELLS = new Set(['1', 'true', 'yes']);
const FALSE_CELLS = new Set(['0', 'false', 'no']);
/**
 * A decimal number: sign, digits, fraction, exponent. `Number()` alone also reads `0x10`,
 * `0b1`, `0o7` and `Infinity`, which no sensor column means; a blank cell is refused too.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A typed cell, or an error naming its row and column: a cell that is neither spelling
 * of a boolean is refused like a number cell that is not a number, rather than read as
 * false (a `maybe` recorded as "unoccupied" is a wrong reading no replay can catch).
 */
function cell(raw: string | undefined, bool: boolean, row: number, name: string): number {
  const text = (raw ?? '').trim();
  if (bool) {
    const word = text.toLowerCase();
    if (TRUE_CELLS.has(word)) return 1;
    if (FALSE_CELLS.has(word)) return 0;
    throw new Error(`row ${row + 1}: "${name}" is not a boolean: ${shownCell(raw)}`);
  }
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(n))
    throw new Error(`row ${row + 1}: "${name}" is not a number: ${shownCell(raw)}`);
  return n;
}

function parseTime(raw: string, format: NonNullable<CsvMapping['time']['format']>, row: number): number {
  let ms: number;
  switch (format) {
    case 'epoch-ms':
      ms = Number(raw);
      break;
    case 'epoch-s':
      ms = Number(raw) * 1000;
      break;
    case 'iso':
      ms = Date.parse(raw);
      break;
    default:
      ms = Date.parse(raw.trim().replace(' ', 'T') + 'Z');
  }
  if (!Number.isFinite(ms)) throw new Error(`row ${row + 1}: cannot read time ${shownCell(raw)} as ${format}`);
  return ms;
}
