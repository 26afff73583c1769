export { RealClock, SimulatedClock, type Clock } from './clock.js';
export {
  defineTwin, type TwinModel, type TwinModelDef, type TwinContext, type TwinEvent, type DerivedEvent, type TwinTimers,
  type TwinLogger, type LaneSpecs, type LanesOf, type EventHandler,
} from './model.js';
export { ModelCatalog } from './catalog.js';
export { Shard, type ShardOptions, type RemoteMessage } from './shard.js';
export type { PassivationOptions } from './passivation.js';
export { Ticket, type Work } from './work.js';
export type { Twin } from './twin.js';
export { SumCount, SortedSet } from './aggregate.js';
export { ShardStats, Histogram } from './stats.js';
export { ownerOf, ownedBy } from './ownership.js';
export { tooManyTwins } from './filter-links.js';
