/**
 * The pieces `/signals` shares between its readers: an event's frame (encoded once, its
 * subject parsed once), the chunks a burst is written in, and the paced writes to one reader
 * (one chunk per event-loop turn, after `drain`, closed past its bound).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { DerivedEvent } from '../../src/model/twin-model.js';
import {
  CHUNK_BYTES,
  chunksOf,
  SignalFrame,
  SignalStream,
  type SignalSink,
} from '../../src/node/http/signal-frames.js';

const event = (subject: string, i = 0, pad = 0): DerivedEvent => ({
  specversion: '1.0',
  id: `${subject}#tick@${i}`,
  source: subject,
  type: 'tick',
  subject,
  time: '2026-01-01T00:00:00.000Z',
  datacontenttype: 'application/json',
  data: { i, pad: 'x'.repeat(pad) },
});

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A socket-like sink: takes `capacity` bytes, then holds the rest until `take()`. */
class Sink extends EventEmitter implements SignalSink {
  destroyed = false;
  writableLength = 0;
  readonly writes: Buffer[] = [];
  constructor(private readonly highWaterMark = 16 * 1024) {
    super();
  }
  write(chunk: Buffer | string): boolean {
    const b = Buffer.from(chunk);
    this.writes.push(b);
    this.writableLength += b.length;
    return this.writableLength < this.highWaterMark;
  }
  /** The peer read everything: the socket drained. */
  take(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  destroy(): void {
    this.destroyed = true;
  }
}

describe('SignalFrame', () => {
  it('encodes its event once and parses its subject once, however often it is read', () => {
    const f = new SignalFrame(event('/org/a/site/s1'));
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const text = f.text;
      expect(f.text).toBe(text);
      expect(f.bytes).toBe(Buffer.byteLength(text));
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    expect(f.text).toMatch(/^id: \/org\/a\/site\/s1#tick@0\ndata: \{"specversion":"1\.0",.*\}\n\n$/);
    expect(f.path).toBe(f.path);
    expect(f.path?.text).toBe('/org/a/site/s1');
    expect(new SignalFrame(event('/org//a')).path).toBeNull();
  });
});

describe('chunksOf', () => {
  it('joins frames in order into UTF-8 chunks of at most CHUNK_BYTES (a larger frame alone)', () => {
    const frames = [
      ...Array.from({ length: 300 }, (_, i) => new SignalFrame(event('/org/münchen/site/s1', i, 500))),
      new SignalFrame(event('/org/a', 300, CHUNK_BYTES * 2)),
      new SignalFrame(event('/org/a', 301)),
    ];
    const chunks = chunksOf(frames);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(frames.map((f) => f.text).join(''));
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) if (c.length > CHUNK_BYTES) expect(c.toString()).toBe(frames[300]!.text);
    expect(chunksOf([])).toEqual([]);
  });
});

describe('SignalStream', () => {
  it('writes one chunk per event-loop turn, and the next only after drain', async () => {
    const sink = new Sink(CHUNK_BYTES * 10);
    const stream = new SignalStream(sink, 1 << 20, () => sink.destroy());
    const chunks = [1, 2, 3].map((n) => Buffer.alloc(CHUNK_BYTES, n));
    stream.send(chunks);
    // The socket would take all three: still one now, one per turn after.
    expect(sink.writes.length).toBe(1);
    await turn();
    expect(sink.writes.length).toBe(2);
    await turn();
    expect(sink.writes.length).toBe(3);
    expect(Buffer.concat(sink.writes).equals(Buffer.concat(chunks))).toBe(true);
    sink.take();
    expect(stream.idle).toBe(true);

    // A socket that asks to wait gets nothing more until it drains.
    const slow = new Sink(1024);
    const paced = new SignalStream(slow, 1 << 20, () => slow.destroy());
    paced.send(chunks);
    await turn();
    await turn();
    expect(slow.writes.length).toBe(1);
    expect(paced.idle).toBe(false);
    expect(paced.backlog).toBe(3 * CHUNK_BYTES);
    slow.take();
    expect(slow.writes.length).toBe(1); // not on drain's tick: on a later turn
    await turn();
    expect(slow.writes.length).toBe(2);
  });

  it('writes at once behind bytes the socket holds but did not ask to wait for (the stream head, the headers)', () => {
    const sink = new Sink();
    sink.write(': twinflow signals\n\n');
    const stream = new SignalStream(sink, 1 << 20, () => sink.destroy());
    expect(stream.idle).toBe(false); // no heartbeat behind unsent bytes
    stream.send([Buffer.from('id: 1\ndata: {}\n\n')]);
    expect(sink.writes.map((w) => w.toString())).toEqual([': twinflow signals\n\n', 'id: 1\ndata: {}\n\n']);
  });

  it('closes a reader once more than its bound waits, and writes it nothing more', async () => {
    const sink = new Sink(1024);
    const tooSlow = vi.fn(() => sink.destroy());
    const stream = new SignalStream(sink, 4 * CHUNK_BYTES, tooSlow);
    stream.send([Buffer.alloc(CHUNK_BYTES), Buffer.alloc(CHUNK_BYTES)]);
    stream.send([Buffer.alloc(CHUNK_BYTES), Buffer.alloc(CHUNK_BYTES)]);
    expect(tooSlow).not.toHaveBeenCalled();
    stream.send([Buffer.alloc(1)]);
    expect(tooSlow).toHaveBeenCalledTimes(1);
    sink.take();
    await turn();
    expect(sink.writes.length).toBe(1);
    stream.send([Buffer.alloc(1)]);
    expect(sink.writes.length).toBe(1);
  });
});
