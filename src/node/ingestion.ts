import type { FastifyInstance } from 'fastify';
import { eventRoutes, type EventRouteOptions } from './http/event-routes.js';
import { BadInput } from './ingest/bad-input.js';
import { MemoryDeadLetters, type DeadLetterStore } from './ingest/dead-letters.js';
import { IngestQueue } from './ingest/ingest-queue.js';
import { startMqttFront, type MqttFront, type MqttOptions } from './ingest/mqtt-front.js';
import { TopicMap } from './ingest/mqtt-message.js';
import type { Logger } from '../logger.js';
import { Outputs, type OutputOptions } from './outputs/outputs.js';
import type { Runtime } from '../runtime/runtime.js';
import { Rejections } from './rejections.js';
import type { AccessControl } from '../access/access-control.js';
import { IngestQuota } from './ingest/ingest-quota.js';

/** Ingestion and output settings of a node (part of `NodeOptions`). */
export interface IngestionOptions {
  /** The MQTT side; absent = no MQTT (the CLI turns it on by default on port 1883). */
  mqtt?: MqttOptions;
  /** Webhooks and MQTT publication of derived events. */
  outputs?: OutputOptions;
  /** Where bad input and failed outputs are kept (default: a ring of the newest 1000 in memory). */
  deadLetters?: DeadLetterStore;
  /** CloudEvent attribute that names the twin path over HTTP and MQTT (default `subject`). */
  pathAttribute?: string;
}

/** Devices in, signals out: the MQTT front, `POST /events`, dead letters and outputs of a node. */
export interface Ingestion {
  readonly mqtt: MqttFront | null;
  readonly outputs: Outputs;
  readonly deadLetters: DeadLetterStore;
  readonly queue: IngestQueue;
  /** Counted, rate-limited log of refused input (shared with the node's other fronts). */
  readonly rejections: Rejections;
  /** The HTTP plugin of `POST /events` (with the batch limits); `GET /dead-letters` is an admin route the node places. */
  routes(limits?: EventRouteOptions['limits']): (app: FastifyInstance) => Promise<void>;
  /** Stops taking input, waits for what was taken to commit, then stops outputs. */
  close(): Promise<void>;
}

/**
 * Starts ingestion for a runtime.
 *
 * @example
 * ```ts
 * const io = await startIngestion(rt, logger, { mqtt: { port: 1883 }, outputs: { webhooks: ['http://127.0.0.1:8080/hook'] } });
 * await http.register(io.routes());
 * await http.register(deadLetterRoutes(io.deadLetters));
 * ```
 */
export async function startIngestion(
  rt: Runtime,
  log: Logger,
  options: IngestionOptions = {},
  rejections = new Rejections(log),
  /** Who may connect, publish and subscribe on the embedded broker (default: no rules). */
  access?: AccessControl,
  /** Ingest rate per sender (default: none). */
  quota: IngestQuota = new IngestQuota(),
): Promise<Ingestion> {
  const deadLetters = options.deadLetters ?? new MemoryDeadLetters();
  const bad = new BadInput(rejections, deadLetters);
  const queue = new IngestQueue(rt, bad);
  const mqtt = options.mqtt
    ? await startMqttFront(
        { pathAttribute: options.pathAttribute, ...options.mqtt },
        queue,
        rejections,
        log,
        access,
        quota,
      )
    : null;
  const outputs = new Outputs(
    rt,
    deadLetters,
    log,
    options.outputs ?? {},
    mqtt?.publish ?? null,
    mqtt?.topics ?? new TopicMap(),
    mqtt?.port !== undefined,
  );
  let closed = false;
  return {
    mqtt,
    outputs,
    deadLetters,
    queue,
    rejections,
    routes(limits) {
      return async (app) => {
        await app.register(eventRoutes(rt, { bad, pathAttribute: options.pathAttribute, limits, quota }));
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await mqtt?.close();
      await queue.drained();
      outputs.close();
    },
  };
}
