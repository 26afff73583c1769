/**
 * A node with worker threads listens only once every worker has loaded the models: its
 * `/readyz` is true from its first answer, and a model module that cannot load fails
 * `startNode` with the reason instead of leaving a node whose every request fails.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { startNode } from '../../src/index.js';

describe('starting a node with worker threads', () => {
  it('is ready at its first answer: the workers already hold the models', async () => {
    const node = await startNode({
      models: buildingModels(),
      modelSource: buildingModelSource(),
      workers: 2,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    try {
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(200);
      // Each worker answered a settle round before the node listened.
      expect(node.runtime.stats().activeTwins).toBe(0);
      const read = await fetch(`${node.url}/twins/org/contoso/site/berlin`);
      expect(read.status).toBe(200);
    } finally {
      await node.close();
    }
  });

  it('fails the start with the reason when the workers cannot load the models', async () => {
    const start = startNode({
      models: buildingModels(),
      modelSource: { ...buildingModelSource(), export: 'noSuchFactory' },
      workers: 2,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await expect(start).rejects.toThrow(/shard worker \d cannot start/);
  }, 30_000);
});
