import { pino } from 'pino';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { afterEachTest } from './cleanup.js';
import { tempDir } from './tmp.js';

const started: TwinflowNode[] = [];
afterEachTest(async () => {
  for (const n of started.splice(0)) await n.close();
});

/**
 * The building model served as `twinflow serve` runs it by default: a worker per core (2 on
 * the CI machines), LMDB strict in `dataDir`, HTTP on a free loopback port, logs silent.
 * Closed after the test unless {@link stopNode} closed it first.
 */
export async function defaultNode(
  dataDir: string = tempDir(),
  options: Partial<NodeOptions> = {},
): Promise<TwinflowNode> {
  const n = await startNode({
    models: buildingModels(),
    modelSource: buildingModelSource(),
    workers: 2,
    dataDir,
    durability: 'strict',
    port: 0,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  started.push(n);
  return n;
}

/** Closes a node from {@link defaultNode} now (a clean shutdown), within the test. */
export async function stopNode(n: TwinflowNode): Promise<void> {
  const i = started.indexOf(n);
  if (i >= 0) started.splice(i, 1);
  await n.close();
}
