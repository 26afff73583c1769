import { startServeNode } from './serve-node.js';
import { prettyLogs } from '../logger.js';
import type { TwinflowNode } from '../node/node.js';
import { progressBar } from './progress.js';
import { DEMO_FLAGS, DEMO_HELP, DEMO_PARAMS, demoRate, runDemoFeed } from './demo.js';
import { AUTH_USAGE, authCommand } from './auth-cli.js';
import { CLUSTER_USAGE, clusterCommand } from './cluster-cli.js';
import { parseFlags } from '../node/config/flags.js';
import { SERVE_FLAGS, serveConfigFrom, serveHelp } from '../node/config/serve-config.js';
import { REPLAY_USAGE, replayCommand, WHATIF_USAGE, whatifCommand } from './replay-cli.js';
import { describeSet, MODEL_FLAGS, ModelFlagError, modelSetFromFlags, MODELS_HELP } from './model-flags.js';
import {
  EXPORT_USAGE,
  exportCommand,
  generateCommand,
  IMPORT_USAGE,
  importCommand,
  RECORD_USAGE,
  recordCommand,
} from './sim-cli.js';

const SERVE_USAGE = serveHelp() + MODELS_HELP + DEMO_HELP;

const COMMAND_USAGE: Record<string, string> = {
  serve: SERVE_USAGE,
  record: RECORD_USAGE,
  replay: REPLAY_USAGE,
  whatif: WHATIF_USAGE,
  import: IMPORT_USAGE,
  export: EXPORT_USAGE,
  auth: AUTH_USAGE,
  cluster: CLUSTER_USAGE,
  // generate answers --help itself: its shape flags are the model set's.
};

const USAGE = `usage: twinflow <command> [options]

commands:
  serve      run the runtime with a model set (HTTP on 127.0.0.1:9001)
  record     serve and record every accepted event to a file (--out FILE) until SIGINT
  replay     replay a recording on a virtual clock; prints events/s, derived events, digest
  whatif     replay a recording with changed model parameters and compare derived events
  generate   write (or publish over MQTT) a seeded synthetic fleet of the model set
  import     turn a CSV (the UCI occupancy files, or a --mapping) into a recording
  export     print a recording as JSON Lines CloudEvents
  auth       make an API token or a password hash for an access file (--auth; docs/security.md)
  cluster    status --cluster <urls>: nodes, vshards, lease epochs and input lag of a twin space;
             demo: 3 nats-servers and 3 nodes on loopback (npm run cluster:demo)
  help       show this text; twinflow <command> --help shows a command's options

  serve, record, replay, whatif and generate run the building model set unless
  --models <module>[#export] names another (a module exporting one made by defineModelSet).

${SERVE_USAGE}`;

/**
 * Entry point of the `twinflow` command; returns the exit code. A failure a command did not
 * handle (a missing file, a port in use, a bad flag value) is one line on stderr and exit
 * code 1: users get the reason, not a stack trace (set TWINFLOW_LOG_LEVEL=debug for it).
 */
export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  // Decided once, here: worker threads (no terminal of their own) inherit it (src/logger.ts).
  process.env.TWINFLOW_LOG_FORMAT ||= prettyLogs() ? 'pretty' : 'json';
  try {
    return await run(command, rest);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`twinflow ${command}: ${message}\n`);
    if (process.env.TWINFLOW_LOG_LEVEL === 'debug' || process.env.TWINFLOW_LOG_LEVEL === 'trace')
      process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    // A --models or --param the command cannot use is a usage error, told in one line.
    return err instanceof ModelFlagError ? 2 : 1;
  }
}

async function run(command: string, rest: string[]): Promise<number> {
  const usage = COMMAND_USAGE[command];
  if (usage && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(usage);
    return 0;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'record':
      return recordCommand(rest);
    case 'replay':
      return replayCommand(rest);
    case 'whatif':
      return whatifCommand(rest);
    case 'generate':
      return generateCommand(rest);
    case 'import':
      return importCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'auth':
      return authCommand(rest);
    case 'cluster':
      return clusterCommand(rest);
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
  let values;
  try {
    ({ values } = parseFlags({ args: argv, options: { ...SERVE_FLAGS, ...MODEL_FLAGS, ...DEMO_FLAGS }, strict: true }));
    if (values.demo) {
      if (values.models !== undefined && values.models !== 'building')
        throw new Error('--demo runs the building model: drop --models');
      // In memory unless the user asked for a data directory: a demo leaves nothing behind.
      if (values.data === undefined) values.memory = true;
      values.param = [...DEMO_PARAMS, ...(values.param ?? [])];
    } else if (values['demo-rate'] !== undefined) throw new Error('--demo-rate needs --demo');
    config = serveConfigFrom(values, process.env);
  } catch (err) {
    process.stderr.write(`twinflow serve: ${(err as Error).message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  const rate = values.demo ? demoRate(values['demo-rate']) : 0;
  const modelSet = await modelSetFromFlags(values);
  const { node, logger } = await startServeNode(config, modelSet);
  const dashboard = `${node.url}/`;
  logger.info(
    {
      url: node.url,
      dashboard,
      warp: node.warpUrl,
      mqtt: node.ingestion.mqtt?.url ?? 'off',
      admin: node.adminUrl,
      ...describeSet(modelSet),
    },
    `twinflow is serving the ${modelSet.name} model; dashboard at ${dashboard}`,
  );
  if (config.storage.warm?.length) showWarming(node);
  const stopDemo = new AbortController();
  const demo = values.demo
    ? runDemoFeed(node, logger, { rate, signal: stopDemo.signal, prefix: config.ingestion.mqtt?.topicPrefix })
    : undefined;
  if (demo)
    logger.info({ rate, dashboard }, `demo: a simulated fleet publishes ${rate} events/s over MQTT; open ${dashboard}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  stopDemo.abort();
  await demo;
  await node.close();
  return 0;
}

/** While `--warm` runs: twins live so far and their rate, on stderr at a terminal (the total is not known up front). */
function showWarming(node: TwinflowNode): void {
  const bar = progressBar('warm ', undefined, process.stderr, 'twins');
  if (!process.stderr.isTTY) return;
  const timer = setInterval(() => bar.update(node.runtime.stats().activeTwins), 100);
  void node.warmed.finally(() => {
    clearInterval(timer);
    bar.end();
  });
}
