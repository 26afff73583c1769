import { monitorEventLoopDelay } from 'node:perf_hooks';
import { needMetrics } from './access-hook.js';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime/runtime.js';
import type { WarpFrontStats } from '../warp/server.js';
import type { SinkStats } from '../outputs/sink-queue.js';

type Sample = readonly [labels: string, value: number];

/**
 * Renders one metric family in the Prometheus text exposition format (0.0.4).
 *
 * @example
 * ```ts
 * family('twinflow_events_total', 'counter', 'Events ingested.', [['', 42]]);
 * // '# HELP twinflow_events_total Events ingested.\n# TYPE twinflow_events_total counter\ntwinflow_events_total 42\n'
 * ```
 */
export function family(
  name: string,
  type: 'counter' | 'gauge' | 'summary',
  help: string,
  samples: readonly Sample[],
): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const [labels, value] of samples) out += `${name}${labels} ${Number.isFinite(value) ? value : 'NaN'}\n`;
  return out;
}

/** A Prometheus label value: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * `GET /metrics` in Prometheus text format: runtime counters (events in, turns, twins
 * active, commands), turn latency quantiles, and the WARP front's links, frames,
 * conflations and errors; in cluster mode, the node's vshards, the nodes holding leases and
 * the vshard moves (docs/cluster-operations.md).
 *
 * @example
 * ```ts
 * await app.register(metricsRoutes(runtime, () => warp.stats()));
 * ```
 */
export function metricsRoutes(
  rt: Runtime,
  warp: () => WarpFrontStats | null,
  rejected: () => ReadonlyMap<string, number> = () => new Map(),
  rateLimited: () => ReadonlyMap<string, number> = () => new Map(),
  /** Delivery counters of each output sink (webhooks, MQTT), by sink name. */
  outputs: () => Readonly<Record<string, SinkStats>> = () => ({}),
) {
  return async (app: FastifyInstance): Promise<void> => {
    // How long the main thread's event loop was held: what every front's latency waits on.
    // Sampled every 10 ms by libuv, so it costs nothing measurable. Counted from the moment the
    // node listens: startup work (opening the store, starting the broker) is not a stall.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    app.addHook('onListen', async () => {
      loop.enable();
    });
    app.addHook('onClose', async () => {
      loop.disable();
    });
    app.get('/metrics', async (req, reply) => {
      needMetrics(req);
      const s = rt.stats();
      const w = warp();
      const parts: string[] = [];
      parts.push(
        family('twinflow_events_total', 'counter', 'Events ingested (delivered to a twin).', [['', s.events]]),
        family(
          'twinflow_events_duplicate_total',
          'counter',
          'Redelivered events ignored by source+id dedupe, and commands repeated with an idempotency key the twin took.',
          [['', s.duplicates]],
        ),
        family('twinflow_commands_total', 'counter', 'Commands delivered to twins.', [['', s.commands]]),
        family('twinflow_turns_total', 'counter', 'Twin turns committed.', [['', s.turns]]),
        family('twinflow_turn_failures_total', 'counter', 'Twin turns rolled back.', [['', s.turnFailures]]),
        family('twinflow_outputs_total', 'counter', 'Derived events emitted.', [['', s.outputs]]),
        family(
          'twinflow_unstorable_states_total',
          'counter',
          'Turns rolled back because they set lane state the store cannot take, and twins reset after the store refused to encode them (a model bug).',
          [['', s.unstorable]],
        ),
        family(
          'twinflow_records_corrupt_total',
          'counter',
          'Stored records that did not decode; their bytes were quarantined (docs/persistence.md).',
          [['', s.corruptRecords]],
        ),
        family(
          'twinflow_twin_starts_refused_total',
          'counter',
          'Twin starts a shard refused because another shard owns the twin (a placement bug if non-zero).',
          [['', s.startsRefused]],
        ),
        family('twinflow_twins_active', 'gauge', 'Twins live in memory.', [['', s.activeTwins]]),
        family('twinflow_lane_observers', 'gauge', 'Lane observers (API links, WARP links, wildcard links).', [
          ['', s.observers],
        ]),
        family('twinflow_turn_latency_seconds', 'summary', 'Sampled duration of twin turns.', [
          ['{quantile="0.5"}', s.turnLatencyNs.p50 / 1e9],
          ['{quantile="0.99"}', s.turnLatencyNs.p99 / 1e9],
          ['_count', s.turnLatencyNs.samples],
        ]),
        family(
          'twinflow_event_loop_delay_seconds',
          'summary',
          'Delay of the main event loop since the node started listening (sampled every 10 ms); the max is the longest the loop was held.',
          [
            ['{quantile="0.5"}', loop.percentile(50) / 1e9],
            ['{quantile="0.99"}', loop.percentile(99) / 1e9],
            ['{quantile="1"}', loop.max / 1e9],
            ['_sum', loop.count > 0 ? (loop.mean * loop.count) / 1e9 : 0],
            ['_count', loop.count],
          ],
        ),
        family(
          'twinflow_rejected_total',
          'counter',
          'Input and connections refused by a front or a limit, by kind (docs/limits.md).',
          [...rejected()].map(([kind, n]) => [`{kind="${kind}"}`, n] as const),
        ),
        family(
          'twinflow_rate_limited_total',
          'counter',
          "Events over their sender's ingest rate, by front: refused (HTTP 429, MQTT 5 PUBACK 0x97 or a dropped QoS 0 PUBLISH, WARP command) or, on MQTT 3.1.1, held until the rate allows them.",
          [...rateLimited()].map(([front, n]) => [`{front="${front}"}`, n] as const),
        ),
      );
      const cluster = rt.cluster;
      if (cluster) {
        // From this node's view of the lease bucket (refreshed every few seconds and on every change).
        const owners = cluster.ownerMap();
        const moves = cluster.moveCounts();
        parts.push(
          family('twinflow_cluster_vshards_owned', 'gauge', 'vshards this node owns now (holds the lease of).', [
            ['', cluster.owned().length],
          ]),
          family(
            'twinflow_cluster_vshards_unowned',
            'gauge',
            'vshards of the space with no lease holder, as this node sees the lease bucket.',
            [['', Math.max(0, cluster.options.vshards - owners.size)]],
          ),
          family(
            'twinflow_cluster_nodes',
            'gauge',
            'Nodes holding at least one vshard lease, as this node sees the lease bucket.',
            [['', new Set(owners.values()).size]],
          ),
          family(
            'twinflow_cluster_vshard_moves_total',
            'counter',
            'vshards this node started owning (kind="start", "start_failed") or stopped owning, by reason (kind="stop").',
            [
              ['{kind="start"}', moves.starts],
              ['{kind="start_failed"}', moves.startFailures],
              ...Object.entries(moves.stops).map(([reason, n]) => [`{kind="stop",reason="${reason}"}`, n] as const),
            ],
          ),
          family(
            'twinflow_cluster_input_not_applied_total',
            'counter',
            'Input of this node\'s vshards (acknowledged with 202 by a front) that was not applied: for good (reason="refused": malformed, for no twin of the vshard, refused by its model) or for now (reason="retried": taken again after the vshard restarts).',
            [
              ['{reason="refused"}', s.inputLog.refused],
              ['{reason="retried"}', s.inputLog.retried],
            ],
          ),
          family(
            'twinflow_cluster_input_consumer_restarts_total',
            'counter',
            'JetStream consumers of vshard input made again (a leader change, a stalled consumer, an error).',
            [['', s.inputLog.consumerRestarts]],
          ),
          family(
            'twinflow_cluster_vshard_resets_total',
            'counter',
            'Restarts of a vshard from its state log under the same lease, to take input again (a failed commit, input not applied for now).',
            [['', s.inputLog.resets]],
          ),
          family(
            'twinflow_cluster_vshard_restores_total',
            'counter',
            'vshards this node started, by where their state came from: the state log in JetStream (from="log") or its local copy, still current (from="local", with --data).',
            Object.entries(moves.restoredFrom).map(([from, n]) => [`{from="${from}"}`, n] as const),
          ),
        );
      }
      const sinks = Object.entries(outputs());
      const bySink = (pick: (s: SinkStats) => number): Sample[] =>
        sinks.map(([name, st]) => [`{sink="${labelValue(name)}"}`, pick(st)] as const);
      if (sinks.length > 0)
        parts.push(
          family('twinflow_output_queued', 'gauge', 'Derived events waiting for a slow or failing output sink.', [
            ...bySink((st) => st.queued),
          ]),
          family(
            'twinflow_output_dropped_total',
            'counter',
            'Derived events dropped (oldest first) because a sink fell --outputs queue capacity behind.',
            bySink((st) => st.dropped),
          ),
          family(
            'twinflow_output_retries_total',
            'counter',
            'Output deliveries retried.',
            bySink((st) => st.retries),
          ),
          family(
            'twinflow_output_dead_lettered_total',
            'counter',
            'Derived events dead-lettered after their sink kept failing.',
            bySink((st) => st.deadLettered),
          ),
        );
      if (w) {
        parts.push(
          family('twinflow_warp_connections', 'gauge', 'Open WARP WebSockets.', [['', w.connections]]),
          family('twinflow_warp_links', 'gauge', 'Open WARP links.', [['', w.links]]),
          family('twinflow_warp_frames_in_total', 'counter', 'WebSocket frames received.', [['', w.framesIn]]),
          family('twinflow_warp_frames_out_total', 'counter', 'WebSocket frames sent.', [['', w.framesOut]]),
          family('twinflow_warp_envelopes_out_total', 'counter', 'WARP envelopes sent.', [['', w.envelopesOut]]),
          family('twinflow_warp_bytes_out_total', 'counter', 'WARP payload bytes sent.', [['', w.bytesOut]]),
          family('twinflow_warp_conflations_total', 'counter', 'Lane events replaced by newer ones for slow sockets.', [
            ['', w.conflations],
          ]),
          family(
            'twinflow_warp_dropped_total',
            'counter',
            'Command/supply events dropped because a slow socket let its link queue fill.',
            [['', w.dropped]],
          ),
          family(
            'twinflow_warp_overflowing_links',
            'gauge',
            'WARP links to command/supply lanes dropping events now (slow consumers).',
            [['', w.overflowingLinks]],
          ),
          family('twinflow_warp_budget_stalls_total', 'counter', 'Times a socket reached its send budget.', [
            ['', w.budgetStalls],
          ]),
          family(
            'twinflow_warp_command_stalls_total',
            'counter',
            'Times the server stopped reading a socket that had maxCommandsInFlight commands in flight.',
            [['', w.commandStalls]],
          ),
          family('twinflow_warp_malformed_total', 'counter', 'Malformed WARP frames or envelopes received.', [
            ['', w.malformed],
          ]),
          family(
            'twinflow_warp_control_dropped_total',
            'counter',
            'Replies (e.g. to malformed frames) dropped because a socket left maxPendingControl of them unread.',
            [['', w.controlDropped]],
          ),
          family(
            'twinflow_warp_events_encoded_total',
            'counter',
            'Event envelopes encoded (once per change and encoding).',
            [['', w.eventsEncoded]],
          ),
          family(
            'twinflow_warp_events_shared_total',
            'counter',
            'Event deliveries that reused already encoded bytes.',
            [['', w.eventsShared]],
          ),
        );
      }
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(parts.join(''));
    });
  };
}
