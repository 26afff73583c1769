/**
 * The building model set: org → site → building → floor → unit → room → sensor, what
 * `twinflow serve` runs when no `--models` is given.
 *
 * @example
 * ```ts
 * import { startNode } from '../src/index.js';
 * import { modelSet } from './index.js';
 * const node = await startNode({ modelSet: modelSet.with({ setpoint: 21 }), workers: 2 });
 * ```
 */
import { defineModelSet, shardKeyUpTo, type TwinModel } from '../src/model/index.js';
import { buildingModel } from './building.js';
import { buildingFleet } from './fleet.js';
import { floorModel } from './floor.js';
import { explainHvac } from './hvac-explain.js';
import { orgModel } from './org.js';
import { defaultParams, type BuildingParams } from './params.js';
import { roomModel } from './room.js';
import { sensorModel } from './sensor.js';
import { siteModel } from './site.js';
import { unitModel } from './unit.js';

/** All models of the building scenario, with optional parameter overrides. */
export function buildingModels(overrides: Partial<BuildingParams> = {}): TwinModel<any>[] {
  const params = { ...defaultParams, ...overrides };
  return [orgModel(), siteModel(), buildingModel(), floorModel(params), unitModel(), roomModel(), sensorModel(params)];
}

/**
 * The building model set: its parameters (`--param setpoint=21`), one shard per building
 * (a building's aggregation never crosses threads; site and org join across), the
 * synthetic fleet of `twinflow generate` and the HVAC explainer of `twinflow whatif`.
 */
export const modelSet = defineModelSet({
  name: 'building',
  module: import.meta.url,
  params: defaultParams,
  models: (params: BuildingParams) => buildingModels(params),
  shardKey: shardKeyUpTo('building'),
  fleet: buildingFleet,
  explain: explainHvac,
});

/**
 * Where worker threads find the building models as a factory (the form before model
 * sets; `createRuntime({ modelSet, workers })` derives this itself).
 *
 * @example
 * ```ts
 * createRuntime({ models: buildingModels(), workers: { count: 2, models: buildingModelSource() } });
 * ```
 */
export function buildingModelSource(overrides: Partial<BuildingParams> = {}): {
  module: string;
  export: string;
  args: unknown[];
} {
  return { module: import.meta.url, export: 'buildingModels', args: [overrides] };
}

export { defaultParams, type BuildingParams } from './params.js';
export { buildingFleet, generateFleet, fleetPaths, type BuildingFleetShape, type FleetOptions } from './fleet.js';
export { explainHvac, type HvacParams } from './hvac-explain.js';
export type { Reading, ClimateReading, OccupancyReading, AlarmReading, SensorKind } from './readings.js';
export type { SensorStatus } from './sensor.js';
export type { HvacMode } from './floor.js';
export { demoFeed, demoSecuredUnits, DEMO_EPISODES, type DemoEpisode, type DemoFeedOptions } from './demo-feed.js';
