/**
 * Fuzzing the WARP front on a real node (WebSockets on port 0): frames in every encoding
 * (Swim's one-envelope frames, `warp.recon` lines, `warp.json` arrays) and binary frames,
 * sent in batches over one socket per encoding. Frames the frame parser rejects (every
 * envelope malformed) are counted as malformed, change no twin's state, and the sockets
 * stay open and keep serving their links.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TwinflowNode } from '../../src/index.js';
import { parseFrame, type WarpEncoding } from '../../src/protocol/warp/index.js';
import { FRONT_RUNS, TIMEOUT, reportFront, samples, type FuzzStats } from './runs.js';
import { jsonEnvelope, reconEnvelope } from './warp-gen.js';
import { UNIT, digest, frontNode } from './front-node.js';

let node: TwinflowNode;
const sockets: WebSocket[] = [];
beforeAll(async () => {
  node = await frontNode();
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await node.close();
});

/** Frames sent before waiting for the server to have read them (and taking a digest). */
const BATCH = 2000;

interface Socket {
  ws: WebSocket;
  messages: string[];
  encoding: WarpEncoding;
}

async function open(protocol: string | undefined, encoding: WarpEncoding): Promise<Socket> {
  const ws = new WebSocket(node.url.replace(/^http/, 'ws') + '/', protocol ? [protocol] : []);
  sockets.push(ws);
  const messages: string[] = [];
  ws.on('message', (d) => messages.push((d as Buffer).toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, encoding };
}

async function until(predicate: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Sends frames in batches; after each, waits until the server has read them all (its framesIn count). */
async function blast(socket: Socket, frames: readonly (string | Uint8Array)[], s: FuzzStats, check: boolean) {
  for (let i = 0; i < frames.length; i += BATCH) {
    const before = check ? await digest(node) : '';
    const batch = frames.slice(i, i + BATCH);
    const t0 = performance.now();
    const target = node.warp.stats().framesIn + batch.length;
    for (const f of batch) socket.ws.send(f, { binary: typeof f !== 'string' });
    await until(() => node.warp.stats().framesIn >= target, 'the server to read a batch');
    s.maxCaseMs = Math.max(s.maxCaseMs, (performance.now() - t0) / batch.length);
    s.cases += batch.length;
    if (check) expect(await digest(node), `after a batch of rejected ${socket.encoding} frames`).toBe(before);
  }
}

describe('WARP front fuzz', () => {
  it(
    'rejected frames are counted malformed and change no state; sockets stay open and keep their links',
    async () => {
      const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
      const start = performance.now();
      const sockets = [
        await open(undefined, 'swim'),
        await open('warp.recon', 'recon'),
        await open('warp.json', 'json'),
      ];
      for (const sock of sockets) {
        sock.ws.send(
          sock.encoding === 'json'
            ? JSON.stringify({ tag: 'sync', node: UNIT, lane: 'securityAlert' })
            : `@sync(node:"${UNIT}",lane:securityAlert)`,
        );
        await until(() => sock.messages.some((m) => m.includes('synced')), 'synced');
      }
      const per = Math.floor(FRONT_RUNS / sockets.length);
      const malformedBefore = node.warp.stats().malformed;
      let rejectedFrames = 0;
      for (const [k, sock] of sockets.entries()) {
        const n = k === sockets.length - 1 ? FRONT_RUNS - per * (sockets.length - 1) : per;
        const frame: fc.Arbitrary<string | Uint8Array> =
          sock.encoding === 'json'
            ? fc.oneof(
                jsonEnvelope,
                fc.array(jsonEnvelope, { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
              )
            : fc.oneof(
                { arbitrary: reconEnvelope, weight: 8 },
                fc.array(reconEnvelope, { maxLength: 4 }).map((xs) => xs.join('\n')),
                fc.uint8Array({ maxLength: 32 }),
              );
        const frames = samples(frame, n, 20 + k);
        // Rejected: binary frames that are not UTF-8, and text whose every envelope the parser refuses.
        const isRejected = (f: string | Uint8Array) => {
          if (typeof f !== 'string') return !isUtf8(f);
          const parts = parseFrame(f, sock.encoding);
          return parts.length > 0 && parts.every((p) => !p.ok);
        };
        const bad = frames.filter(isRejected);
        const rest = frames.filter((f) => !isRejected(f));
        rejectedFrames += bad.length;
        await blast(sock, bad, s, true);
        await blast(sock, rest, s, false);
      }
      s.thrown = node.warp.stats().malformed - malformedBefore;
      expect(s.thrown).toBeGreaterThanOrEqual(rejectedFrames);
      s.totalMs = performance.now() - start;
      reportFront('warp: frames on a live node', s, `malformed; ${rejectedFrames} parser-rejected, state unchanged`);
      expect(s.cases).toBe(FRONT_RUNS);

      // Every socket is open and its link still served.
      for (const sock of sockets) expect(sock.ws.readyState).toBe(WebSocket.OPEN);
      const marks = sockets.map((x) => x.messages.length);
      await node.runtime.command(UNIT, 'secure', true);
      await node.runtime.ingest({ subject: `${UNIT}/room/4/sensors/occupancy`, data: { occupied: true } });
      for (const [i, sock] of sockets.entries())
        await until(
          () => sock.messages.slice(marks[i]).some((m) => m.includes('securityAlert') && m.includes('true')),
          `a securityAlert event on the ${sock.encoding} socket`,
        );
    },
    TIMEOUT,
  );
});

function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
