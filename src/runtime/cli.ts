import { buildingModels } from '../../models/index.js';
import { parseServeConfig, serveHelp } from './config.js';
import { createLogger } from './logger.js';
import { startNode } from './node.js';

const USAGE = `usage: twinflow <command> [options]

commands:
  serve      run the runtime with the building model (HTTP on 127.0.0.1:9001)
  help       show this text

${serveHelp()}`;

/** Entry point of the `twinflow` command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`twinflow: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseServeConfig(argv);
  } catch (err) {
    process.stderr.write(`twinflow serve: ${(err as Error).message}\n\n${serveHelp()}`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  const node = await startNode({ models: buildingModels(), host: config.host, port: config.port, logger, ...config.ingestion, ...config.storage });
  logger.info({ url: node.url, mqtt: node.ingestion.mqtt?.url ?? 'off' }, 'twinflow is serving the building model');
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  await node.close();
  return 0;
}
