/** Counters of one shard; the runtime's metrics endpoint reads and sums them. */
export class ShardStats {
  events = 0;
  commands = 0;
  turns = 0;
  turnFailures = 0;
  started = 0;
  stopped = 0;
  writes = 0;
  outputs = 0;
}
