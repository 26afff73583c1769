/**
 * The building model: org → site → building → floor → unit → room → sensor.
 *
 * @example
 * ```ts
 * import { createRuntime } from '../src/index.js';
 * import { buildingModels } from './index.js';
 * const rt = createRuntime({ models: buildingModels() });
 * ```
 */
import type { TwinModel } from '../src/index.js';
import { buildingModel } from './building.js';
import { floorModel } from './floor.js';
import { orgModel } from './org.js';
import { defaultParams, type BuildingParams } from './params.js';
import { roomModel } from './room.js';
import { sensorModel } from './sensor.js';
import { siteModel } from './site.js';
import { unitModel } from './unit.js';

/**
 * Where worker threads find the building model: this module and its factory (workers
 * cannot receive functions, so they import the models themselves).
 *
 * @example
 * ```ts
 * createRuntime({ models: buildingModels(), workers: { count: 2, models: buildingModelSource() } });
 * ```
 */
export function buildingModelSource(overrides: Partial<BuildingParams> = {}): { module: string; export: string; args: unknown[] } {
  return { module: import.meta.url, export: 'buildingModels', args: [overrides] };
}

/** All models of the building scenario, with optional parameter overrides. */
export function buildingModels(overrides: Partial<BuildingParams> = {}): TwinModel<any>[] {
  const params = { ...defaultParams, ...overrides };
  return [orgModel(), siteModel(), buildingModel(), floorModel(params), unitModel(), roomModel(), sensorModel(params)];
}

export { defaultParams, type BuildingParams } from './params.js';
export type { Reading, ClimateReading, OccupancyReading, AlarmReading, SensorKind } from './readings.js';
export type { SensorStatus } from './sensor.js';
export type { HvacMode } from './floor.js';
