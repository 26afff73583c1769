import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { headerLength, writeHeader } from '../../src/node/warp/ws-frames.js';

/** ws' frame parser (exported at runtime, not in @types/ws). */
interface FrameReceiver {
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): void;
  write(chunk: Buffer, cb: (err?: Error | null) => void): void;
}
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver;
};

/** Frames `texts` back to back in one buffer, as the socket writer does. */
function frames(texts: string[]): Buffer {
  const payloads = texts.map((t) => Buffer.from(t));
  const out = Buffer.allocUnsafe(payloads.reduce((n, p) => n + headerLength(p.length) + p.length, 0));
  let at = 0;
  for (const p of payloads) {
    at = writeHeader(out, at, p.length);
    out.set(p, at);
    at += p.length;
  }
  expect(at).toBe(out.length);
  return out;
}

describe('WebSocket text frames of the WARP writer', () => {
  it('are read back by ws at every payload-length encoding (7-bit, 16-bit, 64-bit)', async () => {
    const texts = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000].map((n, i) => String(i).repeat(n).slice(0, n));
    const got: string[] = [];
    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    receiver.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      got.push(data.toString());
    });
    await new Promise<void>((resolve, reject) =>
      receiver.write(frames(texts), (err) => (err ? reject(err) : resolve())),
    );
    expect(got.map((t) => t.length)).toEqual(texts.map((t) => t.length));
    expect(got).toEqual(texts);
    expect([headerLength(125), headerLength(126), headerLength(65_535), headerLength(65_536)]).toEqual([2, 4, 4, 10]);
  });
});
