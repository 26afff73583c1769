import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, hasMosquitto, startMosquitto, waitFor, type Mosquitto } from '../support/mqtt.js';
import { twinflowArgs } from '../support/serve.js';

const REPO = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
const dirs: string[] = [];
let mosquitto: Mosquitto | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await mosquitto?.stop();
  mosquitto = undefined;
});

/**
 * `twinflow serve` as a child process: the CLI's `main` as bin/twinflow.js runs it from
 * dist/, compiled once per test run (test/support/build.ts).
 */
async function serve(dataDir: string, httpPort: number, mqtt: number | string): Promise<ChildProcess> {
  const mqttFlags =
    typeof mqtt === 'number'
      ? ['--mqtt-port', String(mqtt)]
      : ['--mqtt-url', mqtt, '--mqtt-client-id', 'tf-durable', '--mqtt-subscription', 'org/#'];
  const child = spawn(
    process.execPath,
    twinflowArgs([
      'serve',
      '--data',
      dataDir,
      '--durability',
      'strict',
      '--port',
      String(httpPort),
      ...mqttFlags,
      '--log-level',
      'warn',
    ]),
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`twinflow exited ${child.exitCode}: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => null))?.ok;
    },
    30_000,
    'twinflow serve to be ready',
  );
  return child;
}

const sensor = (i: number) =>
  `org/contoso/site/berlin/building/41/floor/${i % 5}/unit/u${i % 7}/room/${i}/sensors/climate`;
const temperatureOf = (i: number) => 10 + i / 100;

describe('QoS 1 acknowledgement means durable', () => {
  it('keeps every acknowledged reading across kill -9 and restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tf-durable-'));
    dirs.push(dataDir);
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const first = await serve(dataDir, httpPort, mqttPort);

    const client = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, protocolVersion: 4 });
    client.on('error', () => undefined);
    const acked: number[] = [];
    const total = 600;
    // Publish a steady stream and kill the process while PUBLISHes are still in flight.
    const sending = (async () => {
      for (let i = 0; i < total && first.exitCode === null; i++) {
        client.publish(
          sensor(i),
          JSON.stringify({ temperature: temperatureOf(i), humidity: 40 }),
          { qos: 1 },
          (err) => {
            if (!err) acked.push(i);
          },
        );
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => acked.length >= 150, 20_000, '150 PUBACKs');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await sending;
    client.end(true);
    const acknowledged = [...acked];
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    await serve(dataDir, httpPort, mqttPort);
    const missing: number[] = [];
    for (const i of acknowledged) {
      const res = await fetch(`http://127.0.0.1:${httpPort}/twins/${sensor(i)}?lanes=latest`);
      const body = (await res.json()) as { lanes?: { latest?: { temperature?: number } } };
      if (body.lanes?.latest?.temperature !== temperatureOf(i)) missing.push(i);
    }
    expect(missing).toEqual([]);
  }, 90_000);

  it.skipIf(!hasMosquitto)(
    'external mode: what the runtime did not commit before kill -9 is redelivered by mosquitto',
    async () => {
      mosquitto = await startMosquitto();
      const dataDir = mkdtempSync(join(tmpdir(), 'tf-durable-'));
      dirs.push(dataDir);
      const httpPort = await freePort();
      const first = await serve(dataDir, httpPort, mosquitto.url);
      const publisher = await connectAsync(mosquitto.url, { reconnectPeriod: 0 });
      const total = 600;
      const half = (async () => {
        for (let i = 0; i < total; i++) {
          await publisher.publishAsync(sensor(i), JSON.stringify({ temperature: temperatureOf(i), humidity: 40 }), {
            qos: 1,
          });
          if (i === total / 2) {
            first.kill('SIGKILL'); // mid-stream: the runtime holds unacknowledged deliveries
            await new Promise((r) => first.once('exit', r));
          }
        }
      })();
      await half;
      await publisher.endAsync();
      // The broker kept our session (fixed client id, clean: false) and redelivers what we never acknowledged.
      await serve(dataDir, httpPort, mosquitto.url);
      const missing = async () => {
        const out: number[] = [];
        for (let i = 0; i < total; i++) {
          const body = (await (await fetch(`http://127.0.0.1:${httpPort}/twins/${sensor(i)}?lanes=latest`)).json()) as {
            lanes?: { latest?: { temperature?: number } };
          };
          if (body.lanes?.latest?.temperature !== temperatureOf(i)) out.push(i);
        }
        return out;
      };
      await waitFor(async () => (await missing()).length === 0, 20_000, 'every reading after restart');
    },
    90_000,
  );
});
