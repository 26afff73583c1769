import type { TwinEvent } from '../model/twin-model.js';
import { forEachPlannedEvent, planCsvImport } from './csv-import-plan.js';
import type { CsvImportOptions, CsvMapping } from './csv-mapping.js';

export {
  DEFAULT_ROOM_TEMPLATE,
  roomPathOf,
  UCI_MAPPING,
  type CsvField,
  type CsvImportOptions,
  type CsvMapping,
} from './csv-mapping.js';

/**
 * Turns CSV text into readings, ordered by event time (copies interleaved; ties keep file,
 * copy and sensor order). Ids are `<row>` per sensor, so re-importing gives the same
 * events and a replay deduplicates nothing it should not. To write a recording, prefer
 * `planCsvImport` + `writeCsvImport` (csv-recording.ts): they stream, and encode on
 * worker threads when the input is large.
 *
 * @example
 * ```ts
 * const events = importCsv(readFileSync('datatraining.txt', 'utf8'), UCI_MAPPING, { fanOut: 100 });
 * // 8,143 rows × 2 sensors × 100 rooms = 1,628,600 events
 * ```
 */
export function importCsv(text: string, mapping: CsvMapping, options: CsvImportOptions = {}): TwinEvent[] {
  const plan = planCsvImport(text, mapping, options);
  const out: TwinEvent[] = [];
  forEachPlannedEvent(plan, 0, plan.events, (time, subject, id, data) => {
    out.push({ id, source: plan.source, type: 'reading', subject, time, data });
  });
  return out;
}
