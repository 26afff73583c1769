/**
 * Issue 15, "bounds everywhere, each with a metric": the bounds that were enforced without
 * a count before (docs/limits.md, "Every bound at a glance"): an oversized WARP frame and a
 * slow webhook sink, over real sockets.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { command, defineTwin, startNode, value, type TwinflowNode } from '../../src/index.js';
import { waitFor } from '../support/mqtt.js';
import { rawClient, warpNode } from '../support/warp.js';

let node: TwinflowNode | undefined;
const servers: Server[] = [];
const hanging: ServerResponse[] = [];
afterEach(async () => {
  for (const r of hanging.splice(0)) r.end();
  await node?.close();
  node = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('bounds that now have a metric', () => {
  it('an oversized WARP frame closes the socket with 1009 and is counted', async () => {
    const n = await warpNode({ warp: { limits: { maxFrameBytes: 1024 } } });
    const c = await rawClient(n.ws);
    c.send(`@command(node:"/org/a",lane:x)"${'x'.repeat(4096)}"`);
    expect((await c.closed).code).toBe(1009);
    await waitFor(async () =>
      (await metrics(n.url)).includes('twinflow_rejected_total{kind="warp.frame_too_large"} 1'),
    );
  });

  it('a webhook sink that does not answer drops the oldest derived events past its queue, counted per sink', async () => {
    const srv = createServer((_req, res) => void hanging.push(res)); // never answers
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    const beacon = defineTwin({
      name: 'beacon',
      route: '/org/:org/beacon/:id',
      lanes: { n: value(0), ping: command<number>({ parse: (v) => Number(v) }) },
      onCommand: {
        ping(ctx, v) {
          ctx.lanes.n.set(v);
          ctx.emit('beacon.ping', { n: v });
        },
      },
    });
    node = await startNode({
      models: [beacon],
      port: 0,
      logger: pino({ level: 'silent' }),
      outputs: { webhooks: [hook], queue: { capacity: 3 } },
    });
    for (let i = 0; i < 10; i++) await node.runtime.command('/org/a/beacon/b1', 'ping', i);
    const text = await waitFor(async () => {
      const t = await metrics(node!.url);
      return /twinflow_output_dropped_total\{sink="webhook [^"]+"\} [1-9]/.test(t) ? t : undefined;
    });
    // One in flight (hanging), at most 3 queued, the rest dropped oldest first.
    expect(text).toContain(`twinflow_output_queued{sink="webhook ${hook}"} 3`);
    expect(text).toContain(`twinflow_output_dropped_total{sink="webhook ${hook}"} 6`);
    expect(text).toContain(`twinflow_output_dead_lettered_total{sink="webhook ${hook}"} 0`);
  });
});
