/**
 * Two ways to move event batches to a worker, measured the same way: structured-clone
 * `postMessage` of batches of objects, and a single-producer/single-consumer ring in a
 * SharedArrayBuffer carrying msgpack records (copied out before decoding, as the notes
 * advise). Both deliver `count` events and wait for the worker to confirm it decoded all.
 */
import { Worker } from 'node:worker_threads';
import { pack } from 'msgpackr';

const POST_WORKER = `
const { parentPort } = require('node:worker_threads');
let seen = 0;
parentPort.on('message', (m) => { if (m === 'done?') parentPort.postMessage(seen); else seen += m.length; });
`;

const RING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { unpack } = require(workerData.msgpackr);
const ctl = new Int32Array(workerData.sab, 0, 4); // [head, tail, done]
const bytes = new Uint8Array(workerData.sab, 16);
const size = bytes.length;
let seen = 0;
for (;;) {
  const head = Atomics.load(ctl, 0);
  let tail = Atomics.load(ctl, 1);
  if (tail === head) {
    if (Atomics.load(ctl, 2) === 1) break;
    Atomics.wait(ctl, 0, head, 50);
    continue;
  }
  while (tail !== head) {
    const len = bytes[tail % size] | (bytes[(tail + 1) % size] << 8) | (bytes[(tail + 2) % size] << 16);
    const start = (tail + 3) % size;
    const copy = start + len <= size ? bytes.slice(start, start + len) : Buffer.concat([bytes.subarray(start), bytes.subarray(0, (start + len) % size)]);
    unpack(copy);
    seen++;
    tail += 3 + len; // byte counters only grow (fine below 2 GiB per run)
  }
  Atomics.store(ctl, 1, tail);
}
parentPort.postMessage(seen);
`;

export async function postMessageRate(events: readonly unknown[], batch: number): Promise<number> {
  const worker = new Worker(POST_WORKER, { eval: true });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < events.length; i += batch) worker.postMessage(events.slice(i, i + batch));
  const seen = await new Promise<number>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage('done?');
  });
  const rate = seen / (Number(process.hrtime.bigint() - t0) / 1e9);
  await worker.terminate();
  return rate;
}

export async function sharedRingRate(events: readonly unknown[], msgpackrPath: string): Promise<number> {
  const SIZE = 1 << 22;
  const sab = new SharedArrayBuffer(16 + SIZE);
  const ctl = new Int32Array(sab, 0, 4);
  const bytes = new Uint8Array(sab, 16);
  const worker = new Worker(RING_WORKER, { eval: true, workerData: { sab, msgpackr: msgpackrPath } });
  const done = new Promise<number>((resolve) => worker.once('message', resolve));
  const t0 = process.hrtime.bigint();
  let head = 0;
  for (const e of events) {
    const rec = pack(e);
    // Wait while the ring is too full (the consumer frees space as it reads).
    while (head - Atomics.load(ctl, 1) + rec.length + 3 > SIZE) await new Promise((r) => setImmediate(r));
    const at = head % SIZE;
    bytes[at] = rec.length & 255;
    bytes[(at + 1) % SIZE] = (rec.length >> 8) & 255;
    bytes[(at + 2) % SIZE] = (rec.length >> 16) & 255;
    const start = (at + 3) % SIZE;
    const first = Math.min(rec.length, SIZE - start);
    bytes.set(rec.subarray(0, first), start);
    if (first < rec.length) bytes.set(rec.subarray(first), 0);
    head += 3 + rec.length;
    if ((head & 0xffff) < 64) {
      Atomics.store(ctl, 0, head);
      Atomics.notify(ctl, 0);
    }
  }
  Atomics.store(ctl, 0, head);
  Atomics.store(ctl, 2, 1);
  Atomics.notify(ctl, 0);
  const seen = await done;
  const rate = seen / (Number(process.hrtime.bigint() - t0) / 1e9);
  await worker.terminate();
  return rate;
}
