/**
 * The thread of an {@link MqttLoad}: connects to `workerData.url`, answers `'ready'`, then
 * publishes each job it is sent ({ n, qos, prefix }) and answers `{ ms }` or `{ error }`;
 * `'close'` ends the connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectAsync } from 'mqtt';
import { publishMany, type MqttLoadJob, type MqttLoadReply } from './mqtt-load.js';

const { url, connect } = workerData as { url: string; connect: { username?: string; password?: string } };
const answer = (m: MqttLoadReply): void => parentPort!.postMessage(m);

try {
  const client = await connectAsync(url, { ...connect, reconnectPeriod: 0 });
  parentPort!.on('message', (job: MqttLoadJob | 'close') => {
    if (job === 'close') {
      void client.endAsync().then(() => answer('closed'));
      return;
    }
    const t0 = performance.now();
    publishMany(client, job.n, job.qos, job.prefix).then(
      () => answer({ ms: performance.now() - t0 }),
      (err: Error) => answer({ error: err.message }),
    );
  });
  answer('ready');
} catch (err) {
  answer({ error: (err as Error).message });
}
