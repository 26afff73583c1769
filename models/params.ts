/** Tunables of the building model; a what-if run changes them. */
export interface BuildingParams {
  /** A sensor with no reading for this long is `offline` (ms). Default 10 minutes. */
  offlineAfter: number;
  /** HVAC setpoint (°C). Default 20. */
  setpoint: number;
  /** A floor mean outside setpoint ± band starts an hvac.adjust episode. Default 2. */
  hvacBand: number;
  /** The episode clears once the mean is back within setpoint ± clearBand. Default 1.5. */
  hvacClearBand: number;
}

export const defaultParams: BuildingParams = {
  offlineAfter: 10 * 60_000,
  setpoint: 20,
  hvacBand: 2,
  hvacClearBand: 1.5,
};

const HOUR = 3_600_000;
export { HOUR };

/** The route prefix every building-model path starts with. */
export const SITE_ROUTE = '/org/:org/site/:site';
export const BUILDING_ROUTE = `${SITE_ROUTE}/building/:building`;
export const FLOOR_ROUTE = `${BUILDING_ROUTE}/floor/:floor`;
export const UNIT_ROUTE = `${FLOOR_ROUTE}/unit/:unit`;
export const ROOM_ROUTE = `${UNIT_ROUTE}/room/:room`;
export const SENSOR_ROUTE = `${ROOM_ROUTE}/sensors/:sensor`;
