import { createLogger, type Logger } from '../logger.js';
import type { ModelSet } from '../model/model-set.js';
import { startNode, type TwinflowNode } from '../node/node.js';
import type { ServeConfig } from '../node/config/serve-config.js';
import { readTlsFiles } from '../node/tls/tls-options.js';

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
    tls: config.tls?.tls,
    admin: config.admin,
    cluster: config.cluster,
  });
  // SIGHUP re-reads the access file, as operators expect of a daemon (file changes do too).
  // The CLI's process ends with its node, so the listener is never removed.
  if (node.access.enabled) process.on('SIGHUP', () => node.access.reloadLogged('SIGHUP'));
  // And the certificate files (renewals, e.g. by certbot): a file that cannot be read or a key
  // that does not fit keeps the certificate in force.
  const tlsFiles = config.tls?.files;
  if (tlsFiles)
    process.on('SIGHUP', () => {
      try {
        node.setTls(readTlsFiles(tlsFiles));
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'TLS reload failed; the certificate in force stays');
      }
    });
  return { node, logger };
}
