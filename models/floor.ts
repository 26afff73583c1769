import { defineTwin, value } from '../src/model/index.js';
import { levelJoins, levelLanes, rebuildUnoccupied } from './level.js';
import { FLOOR_ROUTE, type BuildingParams } from './params.js';

export type HvacMode = 'cool' | 'heat';

/**
 * A floor aggregates its units and runs the HVAC reaction: when the mean temperature
 * leaves setpoint ± band it emits `hvac.adjust` once (`{ mode, average, setpoint }`),
 * and `hvac.adjust.cleared` once the mean is back within setpoint ± clearBand.
 */
export function floorModel(params: BuildingParams) {
  return defineTwin({
    name: 'floor',
    route: FLOOR_ROUTE,
    lanes: { ...levelLanes('unit'), hvac: value<HvacMode | null>(null) },
    onJoin: levelJoins,
    onStart: rebuildUnoccupied,
    onSet: {
      temperature(ctx, average) {
        if (average === null) return;
        const { setpoint, hvacBand, hvacClearBand } = params;
        const mode = ctx.lanes.hvac.get();
        const wanted: HvacMode | null =
          average > setpoint + hvacBand ? 'cool' : average < setpoint - hvacBand ? 'heat' : null;
        if (wanted !== null && wanted !== mode) {
          ctx.lanes.hvac.set(wanted);
          ctx.emit('hvac.adjust', { mode: wanted, average, setpoint });
        } else if (mode !== null && Math.abs(average - setpoint) <= hvacClearBand) {
          ctx.lanes.hvac.set(null);
          ctx.emit('hvac.adjust.cleared', { average, setpoint });
        }
      },
    },
  });
}
