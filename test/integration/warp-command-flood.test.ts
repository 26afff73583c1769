/**
 * A WARP client that sends commands faster than the node commits them (hostile-client bug
 * bash): WARP has no command acknowledgement, so nothing made the client wait, and the node
 * read its socket as fast as it arrived. Every command became a pending promise and a shard
 * message; a flood of ~1.5 M commands to new twins grew a node past 6 GB and made another
 * client's command wait 24 s. Now a socket's unanswered commands are bounded
 * (`maxCommandsInFlight`): past it the node stops reading that socket (TCP backpressure, as
 * MQTT's ingest queue does) and resumes once its commands commit, losing none.
 */
import { describe, expect, it } from 'vitest';
import { buildingModelSource } from '../../models/index.js';
import { rawClient, warpNode } from '../support/warp.js';

const FRAMES = 40;
const PER_FRAME = 1000;
const LIMIT = 128;

describe('WARP command flood', () => {
  it('bounds the commands one socket has in flight, applies every one of them, and keeps the node answering others', async () => {
    const node = await warpNode({
      workers: 1,
      modelSource: buildingModelSource(),
      warp: { limits: { maxCommandsInFlight: LIMIT } },
    });
    // Count the commands the WARP front has handed to the runtime and that are not answered yet.
    const runtime = node.runtime;
    const command = runtime.command.bind(runtime);
    let inFlight = 0;
    let peak = 0;
    runtime.command = (...args: Parameters<typeof command>) => {
      peak = Math.max(peak, ++inFlight);
      return command(...args).finally(() => inFlight--);
    };
    const unit = (n: number) => `/org/flood/site/s/building/${n % 20}/floor/${n % 3}/unit/u${n}`;
    const flood = await rawClient(node.ws, 'warp.json');
    for (let f = 0; f < FRAMES; f++) {
      const frame = [];
      for (let i = 0; i < PER_FRAME; i++) {
        frame.push({ tag: 'command', node: unit(f * PER_FRAME + i), lane: 'secure', body: true });
      }
      flood.send(JSON.stringify(frame));
    }
    // Another client is not starved while the flood is worked off.
    const other = await fetch(`${node.url}/twins/org/other/site/s/building/1/floor/1/unit/x/commands/secure`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'true',
    });
    expect(other.status).toBe(202);
    const total = FRAMES * PER_FRAME;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const done = Number(
        /^twinflow_commands_total (\d+)/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1],
      );
      if (done >= total + 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Bounded: the limit plus the rest of the frame that reached it (a frame is handled whole).
    expect(peak).toBeLessThanOrEqual(LIMIT + PER_FRAME);
    expect(node.warp.stats().commandStalls).toBeGreaterThan(0);
    // Nothing was lost: every twin of the flood took its command.
    for (const n of [0, 1, total / 2, total - 1]) {
      expect((await node.runtime.read(unit(n), ['secured'])).lanes.secured).toBe(true);
    }
    expect(flood.messages).toEqual([]); // no refusals: the client was slowed, not refused
  }, 120_000);
});
