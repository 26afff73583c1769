/**
 * A real nats-server (Debian's package) with JetStream and its MQTT listener on free
 * loopback ports, for the "nats-server MQTT pub→sub" baseline. Stopped by the caller.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../../test/support/mqtt.js';
import { Socket } from 'node:net';

export const hasNatsServer = spawnSync('nats-server', ['--version']).status === 0;

export interface NatsMqtt {
  url: string;
  stop(): Promise<void>;
}

export async function startNatsMqtt(): Promise<NatsMqtt> {
  const [clientPort, mqttPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'tf-nats-'));
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${clientPort}`,
      'server_name: twinflow-bench',
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      `mqtt { listen: 127.0.0.1:${mqttPort} }`,
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
      return open(mqttPort);
    },
    10_000,
    'nats-server MQTT listener',
  );
  return {
    url: `mqtt://127.0.0.1:${mqttPort}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function open(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}
