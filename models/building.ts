import { defineTwin } from '../src/model/index.js';
import { levelJoins, levelLanes, rebuildUnoccupied } from './level.js';
import { BUILDING_ROUTE } from './params.js';

/** A building aggregates its floors: temperature, occupied/unoccupied rooms, alarms. */
export function buildingModel() {
  return defineTwin({
    name: 'building',
    route: BUILDING_ROUTE,
    lanes: levelLanes('floor'),
    onJoin: levelJoins,
    onStart: rebuildUnoccupied,
  });
}
