/**
 * A real node for the front fuzz files (HTTP on port 0, the embedded MQTT broker on port
 * 0, WARP on the HTTP port), a few twins with state, and the state digest that tells
 * whether a batch of rejected inputs changed anything.
 */
import { pino } from 'pino';
import { buildingModels } from '../../models/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';
import { stateDigest } from '../../src/recording/digest.js';

export const UNIT = '/org/contoso/site/berlin/building/41/floor/3/unit/j';
export const ROOM = `${UNIT}/room/4`;
export const CLIMATE = `${ROOM}/sensors/climate`;

/** Starts the node and gives a few twins state, so a digest has something to cover. */
export async function frontNode(options: Partial<NodeOptions> = {}): Promise<TwinflowNode> {
  const node = await startNode({
    models: buildingModels(),
    port: 0,
    logger: pino({ level: 'silent' }),
    mqtt: { port: 0 },
    ...options,
  });
  for (let r = 1; r <= 4; r++)
    await node.runtime.ingest({
      subject: `${UNIT}/room/${r}/sensors/climate`,
      data: { temperature: 20 + r, humidity: 40 },
    });
  await node.runtime.command(UNIT, 'secure', true);
  return node;
}

/** sha256 over every twin's lanes, after the node settled (src/recording/digest.ts). */
export async function digest(node: TwinflowNode): Promise<string> {
  const d = await stateDigest(node.runtime);
  return `${d.twins}:${d.digest}`;
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
