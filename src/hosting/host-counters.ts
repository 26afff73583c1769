import type { HostCounters } from './shard-host.js';

/**
 * Sums the last counters each worker reported. Observers too: what a worker has
 * registered is what costs memory and forwards changes (a leak there must show). Latency quantiles cannot be summed; the
 * worst worker's is reported, which is what an operator needs to see.
 */
export function sumCounters(parts: readonly (HostCounters | null)[]): HostCounters {
  const total: HostCounters = {
    events: 0,
    duplicates: 0,
    commands: 0,
    turns: 0,
    turnFailures: 0,
    started: 0,
    stopped: 0,
    writes: 0,
    outputs: 0,
    unstorable: 0,
    corruptRecords: 0,
    startsRefused: 0,
    inputLog: { refused: 0, retried: 0, consumerRestarts: 0, resets: 0 },
    activeTwins: 0,
    observers: 0,
    turnLatencyNs: { p50: 0, p99: 0, max: 0, samples: 0 },
  };
  for (const c of parts) {
    if (!c) continue;
    total.events += c.events;
    total.duplicates += c.duplicates;
    total.commands += c.commands;
    total.turns += c.turns;
    total.turnFailures += c.turnFailures;
    total.started += c.started;
    total.stopped += c.stopped;
    total.writes += c.writes;
    total.outputs += c.outputs;
    total.unstorable += c.unstorable;
    total.corruptRecords += c.corruptRecords;
    total.startsRefused += c.startsRefused;
    total.inputLog.refused += c.inputLog.refused;
    total.inputLog.retried += c.inputLog.retried;
    total.inputLog.consumerRestarts += c.inputLog.consumerRestarts;
    total.inputLog.resets += c.inputLog.resets;
    total.activeTwins += c.activeTwins;
    total.observers += c.observers;
    const l = total.turnLatencyNs;
    l.p50 = Math.max(l.p50, c.turnLatencyNs.p50);
    l.p99 = Math.max(l.p99, c.turnLatencyNs.p99);
    l.max = Math.max(l.max, c.turnLatencyNs.max);
    l.samples += c.turnLatencyNs.samples;
  }
  return total;
}
