/** Readings of the four sensor kinds, as devices send them (plain JSON). */
export interface ClimateReading {
  temperature: number;
  humidity: number;
  co2?: number;
}
export interface OccupancyReading {
  occupied: boolean;
  count?: number;
}
export interface AlarmReading {
  alarm: boolean;
  smoke?: number;
  level?: number;
}
export type Reading = ClimateReading | OccupancyReading | AlarmReading | Record<string, unknown>;

export type SensorKind = 'climate' | 'occupancy' | 'fire' | 'gasbio';

/**
 * What a room keeps of a sensor's reading (its join projection): equal from one reading
 * to the next unless something the room aggregates changed, so most readings of
 * occupancy, fire and gas sensors stop at the sensor instead of costing a room turn.
 */
export interface SensorSummary {
  temperature: number | null;
  occupied: boolean;
  alarm: boolean;
}

export function summarize(r: unknown): SensorSummary {
  const reading = r as Reading | null | undefined;
  const temperature = temperatureOf(reading);
  const occupied = isOccupied(reading);
  const alarm = isAlarm(reading);
  // Without a temperature there are four summaries: shared (lane values are immutable), so
  // the readings of occupancy, fire and gas sensors, 3 in 4 here, make no object each.
  if (temperature === null) return NO_TEMPERATURE[(occupied ? 2 : 0) + (alarm ? 1 : 0)]!;
  return { temperature, occupied, alarm };
}

const NO_TEMPERATURE: readonly SensorSummary[] = [
  Object.freeze({ temperature: null, occupied: false, alarm: false }),
  Object.freeze({ temperature: null, occupied: false, alarm: true }),
  Object.freeze({ temperature: null, occupied: true, alarm: false }),
  Object.freeze({ temperature: null, occupied: true, alarm: true }),
];

/**
 * Validates a reading of sensor `kind`; returns the reason it is invalid, or null.
 * Unknown kinds accept any JSON object, so new sensor types can report before they
 * have a schema.
 */
export function readingProblem(kind: string, data: unknown): string | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return `a ${kind} reading must be a JSON object`;
  const r = data as Record<string, unknown>;
  switch (kind) {
    case 'climate':
      return (
        numberProblem(kind, r.temperature, 'temperature', true) ??
        numberProblem(kind, r.humidity, 'humidity', true) ??
        numberProblem(kind, r.co2, 'co2', false)
      );
    case 'occupancy':
      return booleanProblem(kind, r, 'occupied') ?? numberProblem(kind, r.count, 'count', false);
    case 'fire':
      return booleanProblem(kind, r, 'alarm') ?? numberProblem(kind, r.smoke, 'smoke', false);
    case 'gasbio':
      return booleanProblem(kind, r, 'alarm') ?? numberProblem(kind, r.level, 'level', false);
    default:
      return null;
  }
}

/**
 * `v` is read by the caller with a named property access (`r.temperature`), not `r[field]`:
 * V8 reads a fractional number through a computed key as a fresh heap number (16 B), per
 * field and reading.
 */
function numberProblem(kind: string, v: unknown, field: string, required: boolean): string | null {
  if (v === undefined) return required ? `a ${kind} reading needs a numeric "${field}"` : null;
  return typeof v === 'number' && Number.isFinite(v) ? null : `"${field}" must be a finite number`;
}

function booleanProblem(kind: string, r: Record<string, unknown>, field: string): string | null {
  return typeof r[field] === 'boolean' ? null : `a ${kind} reading needs a boolean "${field}"`;
}

const KNOWN_KINDS: readonly SensorKind[] = ['climate', 'occupancy', 'fire', 'gasbio'];

/**
 * The sensor kind of a sensor path (its last segment). Known kinds come back as the
 * constants above rather than a fresh slice: this runs on every reading.
 */
export function sensorKindOf(path: string): string {
  const start = path.lastIndexOf('/') + 1;
  const length = path.length - start;
  for (const kind of KNOWN_KINDS) if (kind.length === length && path.startsWith(kind, start)) return kind;
  return path.slice(start);
}

export function temperatureOf(r: Reading | null | undefined): number | null {
  const t = (r as ClimateReading | null | undefined)?.temperature;
  return typeof t === 'number' ? t : null;
}

export function isOccupied(r: Reading | null | undefined): boolean {
  return (r as OccupancyReading | null | undefined)?.occupied === true;
}

export function isAlarm(r: Reading | null | undefined): boolean {
  return (r as AlarmReading | null | undefined)?.alarm === true;
}
