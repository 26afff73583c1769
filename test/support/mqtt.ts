/** Helpers for MQTT integration tests: free ports, a real mosquitto, CLI tools, polling. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

export const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';
export const CLIMATE = `${ROOM}/sensors/climate`;
export const OCCUPANCY = `${ROOM}/sensors/occupancy`;
export const FIRE = `${ROOM}/sensors/fire`;
export const SITE = '/org/contoso/site/berlin';

/** True when Debian's mosquitto (and its clients) are installed. */
export const hasMosquitto = ['mosquitto', 'mosquitto_pub', 'mosquitto_sub'].every(
  (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0,
);

/** A free TCP port: bind port 0, read it, release it (mosquitto cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Mosquitto {
  port: number;
  url: string;
  /** The broker's process: SIGSTOP it for a broker that holds its connections and answers nothing. */
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a real mosquitto on a free port with a temp config. max_queued_messages is
 * raised from its default 1000, which silently drops QoS 1 messages to a slow subscriber.
 * With `users` (name → password) only they may connect (a `mosquitto_passwd` file).
 */
export async function startMosquitto(users?: Record<string, string>): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tf-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  const passwords = join(dir, 'passwords');
  for (const [i, [user, password]] of Object.entries(users ?? {}).entries())
    await run('mosquitto_passwd', ['-b', ...(i === 0 ? ['-c'] : []), passwords, user, password]);
  // Started as root, mosquitto reads its files as the user `mosquitto` (mkdtemp's dir is 0700).
  if (users !== undefined) {
    chmodSync(dir, 0o755);
    chmodSync(passwords, 0o644);
  }
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(users === undefined ? ['allow_anonymous true'] : ['allow_anonymous false', `password_file ${passwords}`]),
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      'persistence false',
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
    return canConnect(port);
  }, 5000);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    process: proc,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGCONT'); // a stopped broker would never see the SIGTERM
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An mqtt.js client (closed by `closeAll`). */
const clients: MqttClient[] = [];
export async function mqttClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(c);
  return c;
}
export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
}

/** Runs a command to completion (mosquitto_pub), rejecting on a non-zero exit. */
export function run(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${cmd} exited ${code}: ${stderr}`)),
    );
    // A command that does not read its input (mosquitto_pub -m) may exit before we write it: EPIPE is no failure.
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

/** Starts `mosquitto_sub` and collects its lines; `stop()` ends it. */
export function subscribeCli(
  port: number,
  topic: string,
  extra: string[] = [],
): { lines: string[]; ready: Promise<void>; stop: () => void } {
  const lines: string[] = [];
  const p = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', '1', '-v', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  // mosquitto_sub prints nothing on subscribe; give it a moment to connect and subscribe.
  const ready = new Promise<void>((r) => setTimeout(r, 300));
  return { lines, ready, stop: () => void p.kill('SIGTERM') };
}

/** A structured CloudEvent of a reading. */
export function cloudEvent(
  subject: string,
  data: unknown,
  id: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    source: 'urn:test:device',
    type: 'reading',
    subject,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    ...extra,
  };
}

/** The MQTT topic of a path with no prefix. */
export function topicOf(path: string): string {
  return path.slice(1);
}
