/**
 * A parking garage as a model set: spots → levels → garage.
 *
 * ```sh
 * twinflow serve --models ./examples/parking-garage/index.ts --param reserved=2
 * curl -X POST localhost:9001/events -H 'content-type: application/json' \
 *   -d '{"subject":"/garage/g1/level/1/spot/7","data":{"occupied":true}}'
 * curl localhost:9001/twins/garage/g1
 * ```
 */
import { defineModelSet, shardKeyUpTo } from '../../src/model/index.js';
import { explainReserve } from './explain.js';
import { garageFleet } from './fleet.js';
import { garageModel } from './garage.js';
import { levelModel } from './level.js';
import { spotModel } from './spot.js';

/** The garage's tunables: `--param staleAfter=600000`, `--param reserved=2`. */
export interface GarageParams {
  /** A spot silent this long (ms) goes stale. Default 15 minutes. */
  staleAfter: number;
  /** Spots kept free for permit holders: the garage is full at this many free spots. Default 0. */
  reserved: number;
}

export const modelSet = defineModelSet({
  name: 'parking-garage',
  module: import.meta.url,
  params: { staleAfter: 15 * 60_000, reserved: 0 } satisfies GarageParams,
  models: (p: GarageParams) => [garageModel(p.reserved), levelModel(), spotModel(p.staleAfter)],
  // A garage and everything in it on one shard: its joins never cross threads.
  shardKey: shardKeyUpTo('garage'),
  fleet: garageFleet,
  explain: explainReserve,
});

export type { SpotCounts } from './counts.js';
export type { SpotReading, SpotStatus } from './spot.js';
