import type { FastifyInstance } from 'fastify';
import type { Clock, TwinModel } from '../actors/index.js';
import type { StateStore } from '../lanes/index.js';
import { eventRoutes } from './http/event-routes.js';
import { createHttpServer } from './http/server.js';
import { twinRoutes } from './http/twin-routes.js';
import { createLogger, type Logger } from './logger.js';
import { createRuntime, type Runtime } from './runtime.js';

export interface NodeOptions {
  /** The twin models this node serves (the CLI passes the building model). */
  models: readonly TwinModel<any>[];
  /** Listen address (default 127.0.0.1) and port (default 9001; 0 picks a free one). */
  host?: string;
  port?: number;
  logger?: Logger;
  logLevel?: string;
  store?: StateStore;
  clock?: Clock;
}

/**
 * A running node: the runtime plus its network fronts, started together and closed
 * together (fronts first, so nothing new arrives while the runtime drains).
 */
export interface TwinflowNode {
  readonly runtime: Runtime;
  readonly http: FastifyInstance;
  /** `http://host:port` the node listens on. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts a node.
 *
 * @example
 * ```ts
 * const node = await startNode({ models: buildingModels(), port: 0 });
 * await fetch(`${node.url}/twins/org/contoso`);
 * await node.close();
 * ```
 */
export async function startNode(options: NodeOptions): Promise<TwinflowNode> {
  const logger = options.logger ?? createLogger(options.logLevel);
  const runtime = createRuntime({ models: options.models, logger, store: options.store, clock: options.clock });
  const http = createHttpServer(logger);
  await http.register(twinRoutes(runtime));
  await http.register(eventRoutes(runtime));
  const url = await http.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 9001 });
  let closed = false;
  return {
    runtime, http, url,
    async close() {
      if (closed) return;
      closed = true;
      await http.close();
      await runtime.close();
    },
  };
}
