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
  return { temperature: temperatureOf(reading), occupied: isOccupied(reading), alarm: isAlarm(reading) };
}

/**
 * Validates a reading of sensor `kind`; returns the reason it is invalid, or null.
 * Unknown kinds accept any JSON object, so new sensor types can report before they
 * have a schema.
 */
export function readingProblem(kind: string, data: unknown): string | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return `a ${kind} reading must be a JSON object`;
  const r = data as Record<string, unknown>;
  const num = (k: string, required: boolean): string | null =>
    r[k] === undefined ? (required ? `a ${kind} reading needs a numeric "${k}"` : null)
      : typeof r[k] === 'number' && Number.isFinite(r[k]) ? null : `"${k}" must be a finite number`;
  const bool = (k: string): string | null => (typeof r[k] === 'boolean' ? null : `a ${kind} reading needs a boolean "${k}"`);
  switch (kind) {
    case 'climate':
      return num('temperature', true) ?? num('humidity', true) ?? num('co2', false);
    case 'occupancy':
      return bool('occupied') ?? num('count', false);
    case 'fire':
      return bool('alarm') ?? num('smoke', false);
    case 'gasbio':
      return bool('alarm') ?? num('level', false);
    default:
      return null;
  }
}

/** The sensor kind of a sensor path (its last segment). */
export function sensorKindOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
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
