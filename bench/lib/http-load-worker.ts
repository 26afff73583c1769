/**
 * An HTTP load generator on its own thread, so the client's fetch and body handling do not
 * share the server's event loop (in production the senders are other machines).
 * Protocol: receives `{ url, bodies, contentType, concurrency }`, replies `'ready'`, then on
 * `'go'` posts every body and replies `{ ms }` or `{ error }`.
 */
import { parentPort } from 'node:worker_threads';

type Job = { url: string; bodies: string[]; contentType: string; concurrency: number; authorization?: string };

let job: Job | null = null;
parentPort!.on('message', (msg: 'go' | Job) => {
  if (msg !== 'go') {
    job = msg;
    parentPort!.postMessage('ready');
    return;
  }
  void run(job!); // run() answers every outcome itself, failures included
});

async function run({ url, bodies, contentType, concurrency, authorization }: Job): Promise<void> {
  const t0 = performance.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': contentType, ...(authorization && { authorization }) },
            body: bodies[next++]!,
          });
          if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    parentPort!.postMessage({ ms: performance.now() - t0 });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
}
