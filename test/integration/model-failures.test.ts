/**
 * A model whose handler throws on every event (a TypeError, as a bug does), served by a real node with the default
 * 2 worker threads (bug bash round 5): every event is refused with TWIN_TURN_FAILED and a
 * correlation id, the node goes on serving, and the log stays bounded however many batches
 * come. Finding: each listed internal error of a `POST /events` batch was logged on its own
 * error line, unthrottled (a batch of 100 wrote 100 lines with stacks; a client sending
 * batches drove the log at 100 lines per request).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type TwinflowNode } from '../../src/index.js';
import { faultyModels, faultyModelSource } from '../support/faulty-models.js';

let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

interface Line {
  level: number;
  msg: string;
  correlationIds?: string[];
}

/** A node of the faulty models at the default 2 workers, its log lines (info and up) parsed into `lines`. */
async function faultyNode(lines: Line[]): Promise<TwinflowNode> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return startNode({
    models: faultyModels(),
    modelSource: faultyModelSource(),
    workers: 2,
    port: 0,
    logger: pino({ level: 'info' }, sink),
  });
}

describe('a model whose handler throws on every event', () => {
  it('refuses each event with a correlation id, logs batches at a bounded rate, and keeps serving', async () => {
    const lines: Line[] = [];
    node = await faultyNode(lines);
    const ids: string[] = [];
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        subject: `/gadget/b${b}x${i}`,
        id: `${b}-${i}`,
        type: 'crash',
        data: {},
      }));
      const res = await fetch(`${node.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      const body = (await res.json()) as {
        accepted: number;
        rejected: { code: string; details: { correlationId: string } }[];
      };
      expect(body.accepted).toBe(0);
      expect(body.rejected).toHaveLength(100);
      for (const r of body.rejected) {
        expect(r.code).toBe('TWIN_TURN_FAILED');
        ids.push(r.details.correlationId);
      }
    }
    const errors = lines.filter((l) => l.level >= 50);
    // 1000 lines before: one per listed event. Now one per batch, 5 per 10 s.
    expect(errors.length).toBeLessThanOrEqual(5);
    expect(errors[0]!.msg).toBe('100 events of a batch failed (internal error)');
    // A logged line names every correlation id its answer gave.
    expect(errors[0]!.correlationIds).toEqual(ids.slice(0, 100));
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.url}/twins/gadget/q1`)).status).toBe(200);
  });

  it('logs hooks that throw for every twin at a bounded rate, with the count', async () => {
    const lines: (Line & { failures?: number; worker?: number })[] = [];
    node = await faultyNode(lines); // 2 workers: worker threads' lines reach `logger` too (hosting/worker-log.ts)
    // Each read starts a twin (onStart throws) that has no state, so it is stopped again (onStop throws).
    for (let i = 0; i < 300; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async (_, k) =>
          expect((await fetch(`${node!.url}/twins/fragile/f${i + k}`)).status).toBe(200),
        ),
      );
    await node.runtime.settle();
    for (const msg of ['onStart failed', 'onStop failed']) {
      const logged = lines.filter((l) => l.msg === msg);
      // 300 lines each before; now one per shard (worker) per 10 s, with the count.
      expect(logged.length, msg).toBeGreaterThanOrEqual(1);
      expect(logged.length, msg).toBeLessThanOrEqual(2);
      expect(
        logged.every((l) => l.failures === 1 && typeof l.worker === 'number'),
        msg,
      ).toBe(true);
    }
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
