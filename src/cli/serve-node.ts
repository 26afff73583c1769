import { createLogger, type Logger } from '../logger.js';
import type { ModelSet } from '../model/model-set.js';
import { startNode, type TwinflowNode } from '../node/node.js';
import type { ServeConfig } from '../node/config/serve-config.js';

/** The node `serve` and `record` both run, from their settings: one place, so they cannot drift. */
export async function startServeNode(
  config: ServeConfig,
  modelSet: ModelSet,
): Promise<{ node: TwinflowNode; logger: Logger }> {
  const logger = createLogger(config.logLevel);
  const node = await startNode({
    modelSet,
    logLevel: config.logLevel,
    host: config.host,
    port: config.port,
    logger,
    ...config.ingestion,
    ...config.storage,
    ...config.limits,
    ...config.fronts,
    ...config.access,
  });
  // SIGHUP re-reads the access file, as operators expect of a daemon (file changes do too).
  // The CLI's process ends with its node, so the listener is never removed.
  if (node.access.enabled) process.on('SIGHUP', () => node.access.reloadLogged('SIGHUP'));
  return { node, logger };
}
